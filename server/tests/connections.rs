//! Client connections have limits (the real binary): a cap on open connections (more wait),
//! a slow request body gets 408, and running out of file descriptors makes the server back
//! off and warn once instead of spinning, then serve again when descriptors are free.
//! Connections are served by `NANGO_WORKER_THREADS` threads of their own, all of which must
//! start for the server to run.

use std::{
    io::{Read as _, Write as _},
    net::{TcpListener, TcpStream},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

const SECRET: &str = "4f0c2b9e-7d1a-4c3e-9b8f-2a6d5e1c0b7a";

struct Server {
    child: Child,
    port: u16,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the binary (under `ulimit -n <nofile>` when given) and waits until it answers.
fn start(vars: &[(&str, &str)], nofile: Option<u32>) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let log = dir.path().join("server.log");
    let bin = env!("CARGO_BIN_EXE_nango-server");
    let mut cmd = match nofile {
        Some(n) => {
            let mut c = Command::new("/bin/sh");
            c.args(["-c", &format!("ulimit -n {n} && exec \"$0\""), bin]);
            c
        }
        None => Command::new(bin),
    };
    cmd.env_clear()
        .env("NANGO_DATA_DIR", dir.path().join("data"))
        .env("SERVER_PORT", port.to_string())
        .env("NANGO_BIND_ADDRESS", "127.0.0.1")
        .env("NANGO_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .env("NANGO_SECRET_KEY_DEV", SECRET)
        .env("NANGO_WORKER_THREADS", "2");
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let child = cmd.stdout(Stdio::null()).stderr(std::fs::File::create(&log).unwrap()).spawn().unwrap();
    let server = Server { child, port, log, _dir: dir };
    let deadline = Instant::now() + Duration::from_secs(30);
    while get(&server, "/health", Duration::from_secs(1)).is_none() {
        assert!(Instant::now() < deadline, "not ready: {}", std::fs::read_to_string(&server.log).unwrap_or_default());
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

/// `GET path` on a fresh connection: the status line, or `None` when there is no answer
/// within `within`.
fn get(s: &Server, path: &str, within: Duration) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", s.port)).ok()?;
    stream.set_read_timeout(Some(within)).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {SECRET}\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut buf = [0u8; 64];
    let n = stream.read(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
    text.lines().next().map(str::to_owned).filter(|l| l.starts_with("HTTP/"))
}

fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap().split_whitespace().collect();
    // utime and stime are fields 14 and 15 (1-based) of the whole line: 12 and 13 after `)`.
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

#[test]
fn connections_beyond_the_cap_wait_until_one_closes() {
    let s = start(&[("NANGO_MAX_CONNECTIONS", "2")], None);
    let idle: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(("127.0.0.1", s.port)).unwrap()).collect();
    // Give the server the moment to accept both (it does at once; the third then waits).
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(get(&s, "/health", Duration::from_millis(700)), None, "a third connection waits");
    drop(idle);
    assert_eq!(get(&s, "/health", Duration::from_secs(5)).as_deref(), Some("HTTP/1.1 200 OK"));
}

#[test]
fn a_slow_api_body_gets_408_and_the_server_goes_on() {
    let s = start(&[("NANGO_REQUEST_BODY_TIMEOUT", "1")], None);
    let mut stream = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let body = r#"{"provider_config_key":"x","connection_id":"c","credentials":{"type":"API_KEY","apiKey":"k"}}"#;
    write!(
        stream,
        "POST /connections HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {SECRET}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    let started = Instant::now();
    // One byte every 300 ms: the whole body would take about 30 s.
    let mut answer = String::new();
    for b in body.bytes() {
        if stream.write_all(&[b]).is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(300));
        stream.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 512];
        if let Ok(n) = stream.read(&mut buf)
            && n > 0
        {
            answer = String::from_utf8_lossy(&buf[..n]).into_owned();
            break;
        }
        stream.set_nonblocking(false).unwrap();
    }
    assert!(answer.starts_with("HTTP/1.1 408"), "after {:?}: {answer}", started.elapsed());
    assert!(answer.contains("request_timeout"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(5), "answered after the timeout, not the body");
    assert_eq!(get(&s, "/health", Duration::from_secs(5)).as_deref(), Some("HTTP/1.1 200 OK"));
}

#[test]
fn out_of_descriptors_the_server_backs_off_warns_once_and_recovers() {
    // 64 descriptors, and a cap above them so that accept itself fails.
    let s = start(&[("NANGO_MAX_CONNECTIONS", "10000")], Some(64));
    let mut held = Vec::new();
    for _ in 0..80 {
        if let Ok(c) = TcpStream::connect(("127.0.0.1", s.port)) {
            held.push(c);
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    let before = cpu_seconds(s.child.id());
    std::thread::sleep(Duration::from_secs(2));
    let spent = cpu_seconds(s.child.id()) - before;
    assert!(spent < 0.5, "the accept loop spins while out of descriptors: {spent} s of CPU in 2 s");
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if get(&s, "/health", Duration::from_secs(2)).as_deref() == Some("HTTP/1.1 200 OK") {
            break;
        }
        assert!(Instant::now() < deadline, "the server did not recover");
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = std::fs::read_to_string(&s.log).unwrap();
    let warnings = log.lines().filter(|l| l.contains("cannot accept connections")).count();
    assert_eq!(warnings, 1, "one warning while it lasted:\n{log}");
}

/// Reads from `stream` until the server closes it (or it errors); how long that took, or
/// `None` when it was still open after `within`.
fn closed_within(stream: &mut TcpStream, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    stream.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    let mut buf = [0u8; 1024];
    while started.elapsed() < within {
        match stream.read(&mut buf) {
            Ok(0) => return Some(started.elapsed()),
            Ok(_) => {}
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return Some(started.elapsed()),
        }
    }
    None
}

#[test]
fn idle_connections_slow_headers_and_idle_keep_alive_are_closed() {
    let s = start(&[("NANGO_HEADER_READ_TIMEOUT", "1")], None);
    // A connection that never sends anything.
    let mut idle = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    // A header block sent one byte every 200 ms (it would take over 10 s).
    let mut slow = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    let header = format!("GET /health HTTP/1.1\r\nHost: x\r\nX-Padding: {}\r\n\r\n", "p".repeat(40));
    let writer = {
        let mut slow = slow.try_clone().unwrap();
        std::thread::spawn(move || {
            for b in header.bytes() {
                if slow.write_all(&[b]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };
    // A kept-alive connection, idle after one answered request.
    let mut kept = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    write!(kept, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    kept.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 512];
    let n = kept.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"), "the first request is answered");

    for (name, stream) in [("idle", &mut idle), ("slow headers", &mut slow), ("idle keep-alive", &mut kept)] {
        let after = closed_within(stream, Duration::from_secs(6));
        assert!(after.is_some(), "the {name} connection is still open 6 s after a 1 s header timeout");
    }
    writer.join().unwrap();
    assert_eq!(get(&s, "/health", Duration::from_secs(5)).as_deref(), Some("HTTP/1.1 200 OK"));
}

#[test]
fn connections_are_served_by_as_many_threads_as_configured() {
    let s = start(&[("NANGO_WORKER_THREADS", "3")], None);
    let serving = || {
        std::fs::read_dir(format!("/proc/{}/task", s.child.id()))
            .unwrap()
            .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
            .filter(|name| name.starts_with("nango-http-"))
            .count()
    };
    // A thread names itself once it runs: wait for the names, not for a time.
    let deadline = Instant::now() + Duration::from_secs(5);
    while serving() < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(serving(), 3, "serving threads");
    // Many connections at once, each answered, whichever thread accepted it.
    let held: Vec<TcpStream> = (0..24).map(|_| TcpStream::connect(("127.0.0.1", s.port)).unwrap()).collect();
    for mut c in held {
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        write!(c, "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
        let mut answer = String::new();
        let _ = c.read_to_string(&mut answer);
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
}

/// A serving thread that cannot start fails the server's start, with the reason, instead of
/// leaving it to serve quietly with fewer threads than configured.
#[test]
fn the_server_does_not_run_when_a_serving_thread_cannot_start() {
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let log = dir.path().join("server.log");
    // 64 descriptors are enough for the server's start (as above) but not for 300 runtimes,
    // each with its own poller.
    let mut child = Command::new("/bin/sh")
        .args(["-c", "ulimit -n 64 && exec \"$0\"", env!("CARGO_BIN_EXE_nango-server")])
        .env_clear()
        .env("NANGO_DATA_DIR", dir.path().join("data"))
        .env("SERVER_PORT", port.to_string())
        .env("NANGO_BIND_ADDRESS", "127.0.0.1")
        .env("RUST_LOG", "warn")
        .env("NANGO_SECRET_KEY_DEV", SECRET)
        .env("NANGO_WORKER_THREADS", "300")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let answered = TcpStream::connect(("127.0.0.1", port)).is_ok();
            panic!(
                "still running after 30 s (accepting connections: {answered}):\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!status.success(), "{text}");
    assert!(text.contains("cannot start serving thread") && text.contains("NANGO_WORKER_THREADS"), "{text}");
}
