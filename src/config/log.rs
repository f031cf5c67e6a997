//! `[log]`: how log lines are written, and which.

use anyhow::bail;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum LogFormat {
    Human,
    Json,
}

impl TryFrom<String> for LogFormat {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        match value.as_str() {
            "human" => Ok(Self::Human),
            "json" => Ok(Self::Json),
            other => Err(format!("`{other}` is not a log format: use \"human\" or \"json\"")),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct LogSettings {
    pub format: LogFormat,
    pub level: String,
}

impl LogSettings {
    pub(super) fn validate(&self) -> anyhow::Result<()> {
        if self.level.parse::<tracing_subscriber::EnvFilter>().is_err() {
            bail!(
                "log.level `{}` is not a level (trace, debug, info, warn, error) or filter",
                self.level
            );
        }
        Ok(())
    }
}
