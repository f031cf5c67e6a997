//! A TCP proxy a test can cut and restore, to make a database unreachable on purpose.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct CuttableProxy {
    pub port: u16,
    target: SocketAddr,
    stop: Arc<watch::Sender<bool>>,
}

impl CuttableProxy {
    /// Listens on a free port and forwards every connection to `target`.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (stop, _) = watch::channel(false);
        let stop = Arc::new(stop);
        serve(listener, target, stop.clone());
        Self { port, target, stop }
    }

    /// Closes the listener and every forwarded connection.
    pub async fn cut(&self) {
        self.stop.send_replace(true);
        // Wait until the port refuses connections, so the cut is in force when this returns.
        while TcpStream::connect(("127.0.0.1", self.port)).await.is_ok() {
            tokio::task::yield_now().await;
        }
    }

    /// Listens again on the same port.
    pub async fn restore(&self) {
        self.stop.send_replace(false);
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        serve(listener, self.target, self.stop.clone());
    }
}

fn serve(listener: TcpListener, target: SocketAddr, stop: Arc<watch::Sender<bool>>) {
    let mut stopped = stop.subscribe();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stopped.wait_for(|s| *s) => return,
                accepted = listener.accept() => {
                    let Ok((mut inbound, _)) = accepted else { return };
                    let mut stopped = stop.subscribe();
                    tokio::spawn(async move {
                        let Ok(mut outbound) = TcpStream::connect(target).await else { return };
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                            _ = stopped.wait_for(|s| *s) => {}
                        }
                    });
                }
            }
        }
    });
}
