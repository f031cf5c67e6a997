//! Runs the real `tenantgate` binary as a user would, capturing what it prints.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

/// A `tenantgate` command with a clean environment: the shipped config folder, no inherited
/// database or tenantgate variables, run inside `dir`.
pub fn tenantgate(dir: &std::path::Path, args: &[&str]) -> Command {
    tenantgate_at(std::path::Path::new(env!("CARGO_BIN_EXE_tenantgate")), dir, args)
}

/// [`tenantgate`] with another build of the binary (e.g. the release build).
pub fn tenantgate_at(program: &std::path::Path, dir: &std::path::Path, args: &[&str]) -> Command {
    let mut command = Command::new(program);
    command.args(args).current_dir(dir);
    for (name, _) in std::env::vars() {
        if name.starts_with("TENANTGATE") || name == "DATABASE_URL" || name == "PORT" || name == "RUST_LOG" {
            command.env_remove(name);
        }
    }
    command.env("TENANTGATE_CONFIG_DIR", concat!(env!("CARGO_MANIFEST_DIR"), "/config"));
    command
}

/// Runs a command to completion.
pub fn run(mut command: Command) -> Output {
    command.output().expect("tenantgate runs")
}

/// `tenantgate ARGS…` with `DATABASE_URL` pointing at a test's database, and the test suite's
/// encryption key (as the test's application has), run to completion off the async threads.
pub async fn run_on_database(database_url: &str, args: &[&str]) -> Output {
    let (url, args) = (
        database_url.to_owned(),
        args.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
    );
    tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().unwrap();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut command = tenantgate(dir.path(), &args);
        command.env("DATABASE_URL", url).env(
            "TENANTGATE__NOTIFICATIONS__ENCRYPTION_KEYS",
            crate::helpers::TEST_ENCRYPTION_KEY,
        );
        run(command)
    })
    .await
    .unwrap()
}

/// A `tenantgate serve` process; killed when dropped.
pub struct Server {
    pub address: String,
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Starts `serve` on a free port and waits for its "listening" line.
    pub fn start(mut command: Command) -> Server {
        command.env("PORT", "0").stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("tenantgate starts");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (listening, port) = mpsc::channel();
        let mut readers = Vec::new();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let lines = lines.clone();
            let listening = listening.clone();
            readers.push(std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if line.contains("tenantgate listening") {
                        let _ = listening.send(port_in(&line));
                    }
                    lines.lock().unwrap().push(line);
                }
            }));
        }
        let port = port.recv_timeout(Duration::from_secs(60)).unwrap_or_else(|_| {
            panic!("tenantgate did not start:\n{}", lines.lock().unwrap().join("\n"));
        });
        Server {
            address: format!("http://127.0.0.1:{port}"),
            child,
            lines,
            readers,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running (it has not exited or been killed).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Kills the process with SIGKILL (no shutdown, no clean-up) and returns what it printed.
    pub fn kill(mut self) -> Vec<String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        self.lines.lock().unwrap().clone()
    }

    /// Stops the process with SIGTERM and returns everything it printed.
    pub fn stop(mut self) -> Vec<String> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        // The readers end at EOF, once they have drained the pipes.
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        self.lines.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// The port in the listening line: `address=127.0.0.1:PORT` (human) or `"address":"127.0.0.1:PORT"` (JSON).
fn port_in(line: &str) -> u16 {
    let after = line.split("address").nth(1).expect("listening line names its address");
    let address = after
        .trim_start_matches(['"', '=', ':'])
        .split(['"', ' '])
        .next()
        .unwrap();
    address.rsplit(':').next().unwrap().parse().expect("a port")
}
