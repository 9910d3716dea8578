//! A TCP proxy on loopback that a test can stop and start again on the same port: what a
//! client sees when the server behind it stops (connections cut, the port refusing) and comes
//! back, without stopping a server other tests share.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug)]
pub struct TcpProxy {
    addr: SocketAddr,
    target: SocketAddr,
    running: Option<Running>,
}

#[derive(Debug)]
struct Running {
    stop: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
    accept: std::thread::JoinHandle<()>,
}

impl TcpProxy {
    /// Forward a free loopback port to `target`.
    pub fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let addr = listener.local_addr().expect("a bound address");
        let mut proxy = Self {
            addr,
            target,
            running: None,
        };
        proxy.run(listener);
        proxy
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Cut every connection and stop listening: new connections are refused.
    pub fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            running.stop.store(true, Ordering::SeqCst);
            for stream in running
                .open
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .drain(..)
            {
                let _ = stream.shutdown(Shutdown::Both);
            }
            let _ = running.accept.join();
        }
    }

    /// Listen again on the same port.
    pub fn resume(&mut self) {
        if self.running.is_none() {
            let listener = TcpListener::bind(self.addr).expect("the proxy's port again");
            self.run(listener);
        }
    }

    fn run(&mut self, listener: TcpListener) {
        listener
            .set_nonblocking(true)
            .expect("a nonblocking listener");
        let stop = Arc::new(AtomicBool::new(false));
        let open = Arc::new(Mutex::new(Vec::new()));
        let target = self.target;
        let accept = {
            let (stop, open) = (stop.clone(), open.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((client, _)) => forward(client, target, &open),
                        Err(_) => std::thread::sleep(Duration::from_millis(10)),
                    }
                }
            })
        };
        self.running = Some(Running { stop, open, accept });
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.stop();
    }
}

fn forward(client: TcpStream, target: SocketAddr, open: &Mutex<Vec<TcpStream>>) {
    let Ok(server) = TcpStream::connect(target) else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    let _ = client.set_nonblocking(false);
    let (Ok(client2), Ok(server2)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    {
        let mut open = open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for s in [&client, &server] {
            if let Ok(s) = s.try_clone() {
                open.push(s);
            }
        }
    }
    std::thread::spawn(move || pipe(client, server));
    std::thread::spawn(move || pipe(server2, client2));
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}
