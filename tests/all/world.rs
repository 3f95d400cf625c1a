//! Images and the world (issue 21): a server saves itself while its
//! connections stay open, the save child never serves, the image finds
//! its old sockets stale and listens again; and the HTTP example serves
//! from source, from its image and as one executable.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("imp-world-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("dir");
    d
}

/// A port no one listens on now (the kernel's pick, let go at once).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// An `imp` process whose standard output is read line by line, killed
/// when dropped.
struct Server {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Server {
    fn start(cwd: &Path, args: &[&str], env: &[(&str, String)]) -> Server {
        let exe = if args.first() == Some(&"./server") {
            cwd.join("server")
        } else {
            PathBuf::from(env!("CARGO_BIN_EXE_imp"))
        };
        let args = if args.first() == Some(&"./server") {
            &args[1..]
        } else {
            args
        };
        let mut cmd = Command::new(exe);
        cmd.current_dir(cwd)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn");
        let out = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Server { child, lines: rx }
    }

    /// The next line it prints (the test fails after a minute without one).
    fn line(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(60))
            .expect("a line from the server within a minute")
    }

    /// Wait for it to end (at most a minute); its exit status.
    fn wait(mut self) -> i32 {
        for _ in 0..6000 {
            if let Some(st) = self.child.try_wait().expect("wait") {
                return st.code().unwrap_or(-1);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("the server did not end within a minute");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Connect to `port`, send `request`, read until the connection closes or
/// `until` has been seen; what was read.
fn exchange(port: u16, request: &str, until: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    s.write_all(request.as_bytes()).expect("send");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains(until) {
        let n = s.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// A server that answers each line with `pong PID`; it saves itself while
/// a client connection is open, and its image listens again (on `PORT2`)
/// through a restore hook.
const PONG: &str = r#"
(define (serve-on listener)
  (let loop ()
    (let-values (((in out) (tcp-accept listener)))
      (thread-start!
       (make-thread
        (lambda ()
          (guard (e (#t #f))
            (let next ()
              (let ((line (read-line in)))
                (if (not (eof-object? line))
                    (begin
                      (write-string (string-append "pong " (number->string (pid)) "\n") out)
                      (flush-output-port out)
                      (next))))))
          (guard (e (#t #f)) (close-port out))
          (guard (e (#t #f)) (close-port in)))))
      (loop))))

(define listener (tcp-listen 0 #:host "127.0.0.1"))
(define-values (host port) (socket-local-address listener))
(thread-start! (make-thread (lambda () (serve-on listener)) 'acceptor))

(define-values (ci co) (tcp-connect "127.0.0.1" port))
(define (ping)
  (write-string "ping\n" co)
  (flush-output-port co)
  (read-line ci))

(define old-listener listener)
(add-restore-hook!
 (lambda ()
   (set! listener
         (tcp-listen (string->number (get-environment-variable "PORT2")) #:host "127.0.0.1"))
   (thread-start! (make-thread (lambda () (serve-on listener)) 'acceptor))))

(define (image-main)
  (display (guard (e ((socket-error? e) (error-object-message e)))
             (socket-accept old-listener)))
  (newline)
  ;; The connection's ports: stale too (a file error, as for any port).
  (display (guard (e ((file-error? e) (error-object-message e)))
             (ping)))
  (newline)
  (display "listening again")
  (newline)
  (flush-output-port)
  (thread-sleep! 120))

(display (string=? (ping) (string-append "pong " (number->string (pid)))))
(newline)
;; Clients keep being served while the save runs.
(define during
  (make-thread (lambda ()
                 (let loop ((i 0) (ok 0))
                   (if (= i 50)
                       ok
                       (let-values (((i2 o2) (tcp-connect "127.0.0.1" port)))
                         (write-string "x\n" o2)
                         (flush-output-port o2)
                         (let ((answer (read-line i2)))
                           (close-port o2)
                           (close-port i2)
                           (loop (+ i 1)
                                 (if (equal? answer (string-append "pong " (number->string (pid))))
                                     (+ ok 1)
                                     ok)))))))))
(thread-start! during)
(define report (save-application "pong.img" #:toplevel image-main))
(display (list 'saved (list? report)))
(newline)
(display (list 'during (thread-join! during)))
(newline)
(display (string=? (ping) (string-append "pong " (number->string (pid)))))
(newline)
"#;

// See issue #21, item 6: the save child closes every inherited socket
// before Scheme code runs (so it never answers a client: every answer
// during the save names the parent's pid), the parent's connection lives
// on across the save, and in the image the old sockets are stale handles
// while a restore hook listens again and serves.
#[test]
fn a_server_saves_itself_with_connections_open_and_its_image_listens_again() {
    let d = dir("pong");
    std::fs::write(d.join("pong.scm"), PONG).expect("write");
    let s = Server::start(&d, &["pong.scm"], &[]);
    assert_eq!(s.line(), "#t", "the first ping");
    assert_eq!(s.line(), "(saved #t)");
    assert_eq!(
        s.line(),
        "(during 50)",
        "every answer during the save came from the parent"
    );
    assert_eq!(s.line(), "#t", "the connection open across the save");
    assert_eq!(s.wait(), 0);

    let port2 = free_port();
    let img = Server::start(
        &d,
        &["--image", "pong.img"],
        &[("PORT2", port2.to_string())],
    );
    let stale = img.line();
    assert!(
        stale.contains("stale handle from a previous session"),
        "the old listener in the image: {stale}"
    );
    let stale = img.line();
    assert!(
        stale.contains("stale handle from a previous session"),
        "the old connection in the image: {stale}"
    );
    assert_eq!(img.line(), "listening again");
    let answer = exchange(port2, "ping\n", "\n");
    let pid = img.child.id();
    assert_eq!(answer, format!("pong {pid}\n"));
}

/// The HTTP example's answers on one keep-alive connection: `/`, `/json`
/// and a 404, then `Connection: close`.
fn check_http(port: u16) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let mut r = BufReader::new(s.try_clone().expect("clone"));
    let mut answer = |req: &str| -> (String, String) {
        s.write_all(req.as_bytes()).expect("send");
        let mut status = String::new();
        r.read_line(&mut status).expect("status");
        let mut len = 0;
        loop {
            let mut h = String::new();
            r.read_line(&mut h).expect("header");
            if h == "\r\n" {
                break;
            }
            if let Some(v) = h.strip_prefix("Content-Length: ") {
                len = v.trim().parse().expect("length");
            }
        }
        let mut body = vec![0u8; len];
        r.read_exact(&mut body).expect("body");
        (
            status.trim_end().to_string(),
            String::from_utf8(body).expect("utf-8"),
        )
    };
    let get = |path: &str, extra: &str| format!("GET {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n");
    assert_eq!(
        answer(&get("/", "")),
        ("HTTP/1.1 200 OK".into(), "Hello, world!\n".into())
    );
    let (st, body) = answer(&get("/json", ""));
    assert_eq!(st, "HTTP/1.1 200 OK");
    assert!(
        body.starts_with(r#"{"message":"Hello, world!","n":"#) && body.ends_with('}'),
        "{body}"
    );
    assert_eq!(
        answer(&get("/nothing", "")),
        ("HTTP/1.1 404 Not Found".into(), "not found\n".into())
    );
    assert_eq!(
        answer(&get("/", "Connection: close\r\n")),
        ("HTTP/1.1 200 OK".into(), "Hello, world!\n".into())
    );
    // The server closed the connection as asked.
    let mut rest = Vec::new();
    let _ = r.read_to_end(&mut rest);
    assert!(rest.is_empty());
}

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/http/server.scm")
}

// See issue #21, item 7: the HTTP example works from source, from its
// image and as a one-file executable.
#[test]
fn the_http_example_serves_from_source_image_and_executable() {
    let d = dir("http");
    let src = example();
    let src = src.to_str().expect("path");

    let port = free_port();
    let s = Server::start(&d, &[src, &port.to_string()], &[]);
    assert_eq!(s.line(), format!("listening on {port}"));
    check_http(port);
    drop(s);

    let o = Command::new(env!("CARGO_BIN_EXE_imp"))
        .current_dir(&d)
        .args([src, "--image", "server.img"])
        .output()
        .expect("save the image");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let port = free_port();
    let s = Server::start(&d, &["--image", "server.img", &port.to_string()], &[]);
    assert_eq!(s.line(), format!("listening on {port}"));
    check_http(port);
    drop(s);

    let o = Command::new(env!("CARGO_BIN_EXE_imp"))
        .current_dir(&d)
        .args([src, "--executable", "server"])
        .output()
        .expect("save the executable");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let port = free_port();
    let s = Server::start(&d, &["./server", &port.to_string()], &[]);
    assert_eq!(s.line(), format!("listening on {port}"));
    check_http(port);
}
