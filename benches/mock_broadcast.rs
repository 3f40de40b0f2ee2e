//! The mock server under a thousand clients: `sockscope serve --rules … --json` in its own process (its NDJSON
//! read as it comes, as a script would), the clients in this one on loopback; then broadcasts through a rule
//! (`Send(to: All)`), timing each client's receipt. Printed: connect time, the broadcast latency to the median
//! and the last client over 20 broadcasts, and the server process's resident memory per connection. Run:
//! `cargo bench --bench mock_broadcast`.

use futures_util::{SinkExt, StreamExt};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let quick = std::env::args().any(|a| a == "--test") || std::env::var_os("CI").is_some();
    let clients: usize = if quick { 50 } else { 1_000 };
    let rounds = if quick { 2 } else { 20 };
    // A thousand clients and their server ends: the soft open-file limit up to the hard one.
    let hard = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| {
            l.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| {
                    l.split_whitespace()
                        .filter_map(|w| w.parse::<u64>().ok())
                        .nth(1)
                })
        })
        .unwrap_or(0);
    let _ = std::process::Command::new("prlimit")
        .arg(format!("--pid={}", std::process::id()))
        .arg(format!("--nofile={hard}:{hard}"))
        .status();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let dir = std::env::temp_dir().join(format!("sockscope-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let rules = dir.join("broadcast.ron");
        std::fs::write(
            &rules,
            r#"MockRules(rules: [Rule(name: "broadcast", when: Route("broadcast"), then: [Send(to: All, text: "{{request.body.n}}")])])"#,
        )
        .expect("rules written");
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sockscope"))
            .args(["serve", "--rules"])
            .arg(&rules)
            .args(["--port", "0", "--json"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start sockscope serve");
        let pid = child.id();
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().expect("stdout")));
        let first: serde_json::Value = serde_json::from_str(&lines.next().expect("a line").expect("read")).expect("json");
        let url = first["url"].as_str().expect("url").to_owned();
        let (connected_tx, mut connected_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if line.contains("\"client_connected\"") {
                    let _ = connected_tx.send(());
                }
            }
        });
        std::thread::sleep(Duration::from_millis(200));
        let before = rss_kib(pid);
        let started = Instant::now();
        let mut sockets = Vec::with_capacity(clients);
        while sockets.len() < clients {
            let batch = (0..100.min(clients - sockets.len())).map(|_| async {
                let tcp = tokio::net::TcpStream::connect(url.trim_start_matches("ws://")).await.expect("tcp");
                tokio_tungstenite::client_async(url.as_str(), tcp).await.expect("upgrade").0
            });
            sockets.extend(futures_util::future::join_all(batch).await);
        }
        for _ in 0..clients {
            connected_rx.recv().await.expect("client_connected");
        }
        let connect_time = started.elapsed();
        let per_connection = (rss_kib(pid).saturating_sub(before)) as f64 * 1024.0 / clients as f64;
        let (mut sender, readers): (Vec<_>, Vec<_>) = sockets.into_iter().enumerate().partition(|(i, _)| *i == 0);
        let (_, mut first) = sender.pop().expect("a client");
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(u32, Instant)>();
        for (_, mut ws) in readers {
            let tx = tx.clone();
            tokio::spawn(async move {
                while let Some(Ok(m)) = ws.next().await {
                    if let Ok(text) = m.into_text()
                        && let Ok(round) = text.parse::<u32>()
                    {
                        let _ = tx.send((round, Instant::now()));
                    }
                }
            });
        }
        let mut medians = Vec::new();
        let mut lasts = Vec::new();
        for round in 0..rounds {
            let sent = Instant::now();
            first
                .send(Message::text(format!(r#"{{"action":"broadcast","n":"{round}"}}"#)))
                .await
                .expect("send");
            let mut times = Vec::with_capacity(clients - 1);
            while times.len() < clients - 1 {
                let (r, at) = rx.recv().await.expect("receipt");
                if r == round {
                    times.push(at.duration_since(sent));
                }
            }
            // The sender's own copy.
            let _ = first.next().await;
            times.sort();
            medians.push(times[times.len() / 2]);
            lasts.push(times[times.len() - 1]);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        medians.sort();
        lasts.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!("mock_broadcast: {clients} clients on loopback, {rounds} broadcasts through a Send(to: All) rule");
        println!("  connect all            {:>8.1} ms", ms(connect_time));
        println!("  to the median client   {:>8.2} ms (median of the rounds; worst {:.2} ms)", ms(medians[medians.len() / 2]), ms(medians[medians.len() - 1]));
        println!("  to the last client     {:>8.2} ms (median of the rounds; worst {:.2} ms)", ms(lasts[lasts.len() / 2]), ms(lasts[lasts.len() - 1]));
        println!("  server resident memory {:>8.1} KiB per connection", per_connection / 1024.0);
        let _ = child.kill();
        let _ = child.wait();
    });
}
