//! Tracing set-up: human or JSON lines, level from `RUST_LOG` or the configuration.

use std::io::IsTerminal;

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, LogSettings};

/// Installs the global subscriber, writing to `sink`. Call once, at start-up.
pub fn init<W>(settings: &LogSettings, sink: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(sink)
        .with_target(false)
        .with_ansi(std::io::stdout().is_terminal() && std::io::stderr().is_terminal());
    // A second init (tests that build several apps) keeps the first subscriber.
    let _ = match settings.format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
    };
}
