//! `verify-time IMAGE RUNS`: the median time of checking every chunk of
//! IMAGE's body against its checksum, as a load that checked it whole
//! would (`Image::verify_body`, one thread), and the same split between
//! two threads; the file is opened before the clock starts.

use std::time::{Duration, Instant};

use imp_images::Image;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(path), Some(runs)) = (args.get(1), args.get(2).and_then(|r| r.parse::<usize>().ok())) else {
        eprintln!("usage: verify-time IMAGE RUNS");
        std::process::exit(2);
    };
    let img = Image::open_unchecked(std::path::Path::new(path)).expect("open the image");
    let mut one = Vec::new();
    let mut two = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        img.verify_body().expect("the body checks");
        one.push(t.elapsed());
        let t = Instant::now();
        for s in &img.sections {
            let check = img.body_check(s, "").expect("map");
            let n = check.chunks();
            std::thread::scope(|sc| {
                let c = &check;
                let h = sc.spawn(move || (n / 2..n).all(|i| c.check_chunk(i)));
                let a = (0..n / 2).all(|i| check.check_chunk(i));
                assert!(a && h.join().expect("thread"), "the body checks");
            });
        }
        two.push(t.elapsed());
    }
    println!(
        "{} bytes: whole-body check {:.1} ms on one thread, {:.1} ms on two (median of {runs})",
        img.len,
        median(one).as_secs_f64() * 1e3,
        median(two).as_secs_f64() * 1e3
    );
}
