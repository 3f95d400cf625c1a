//! Engine creation and host→script→host call cost: imp, mlua (Lua 5.4),
//! rhai. Prints a table of medians.

use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Median time of `runs` runs of `f`.
fn time_runs(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut v = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        f();
        v.push(t.elapsed());
    }
    median(v)
}

/// Median over `rounds` of the mean time per call of `calls` calls.
fn per_call(rounds: usize, calls: u32, mut f: impl FnMut(u32)) -> Duration {
    let mut v = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        for i in 0..calls {
            f(i);
        }
        v.push(t.elapsed() / calls);
    }
    median(v)
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn ns(d: Duration) -> String {
    format!("{:.0} ns", d.as_secs_f64() * 1e9)
}

fn main() {
    let runs = 50;
    let dir = std::env::temp_dir().join(format!("imp-bench-embed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let img = dir.join("boot.img");
    imp::write_boot_image(&img, |_| Ok(())).expect("boot image");
    let bytes = std::fs::read(&img).expect("read image");

    // ---- creating an engine ready to evaluate ----
    let imp_new = time_runs(runs, || {
        let rt = imp::Runtime::new().expect("new");
        std::hint::black_box(&rt);
    });
    let imp_file = time_runs(runs, || {
        let (rt, _) = imp::Runtime::from_image(&img).expect("image");
        std::hint::black_box(&rt);
    });
    let imp_bytes = time_runs(runs, || {
        let (rt, _) = imp::Runtime::from_image_bytes(&bytes).expect("bytes");
        std::hint::black_box(&rt);
    });
    let lua_new = time_runs(runs, || {
        let lua = mlua::Lua::new();
        std::hint::black_box(&lua);
    });
    let rhai_new = time_runs(runs, || {
        let e = rhai::Engine::new();
        std::hint::black_box(&e);
    });
    // Sanity: each engine evaluates.
    let (mut rt, _) = imp::Runtime::from_image_bytes(&bytes).expect("bytes");
    assert_eq!(rt.eval_str("(+ 1 2)").expect("eval").as_i64(&rt), Some(3));

    // ---- host -> script -> host round trip ----
    rt.register("host-inc", |_, (x,): (i64,)| Ok(x + 1)).expect("register");
    rt.eval_str("(define (f x) (host-inc x))").expect("define");
    let f: imp::Value = rt.global("f").expect("f");
    if std::env::var("IMP_BENCH_ONLY").as_deref() == Ok("roundtrip") {
        // For profiling the imp round trip alone.
        let d = per_call(50, 100_000, |i| {
            let r: i64 = rt.call_value(&f, (i as i64,)).expect("call");
            std::hint::black_box(r);
        });
        println!("imp round trip {}", ns(d));
        return;
    }
    let imp_rt = per_call(9, 100_000, |i| {
        let r: i64 = rt.call_value(&f, (i as i64,)).expect("call");
        debug_assert_eq!(r, i as i64 + 1);
        std::hint::black_box(r);
    });

    let lua = mlua::Lua::new();
    let inc = lua
        .create_function(|_, x: i64| Ok(x + 1))
        .expect("function");
    lua.globals().set("host_inc", inc).expect("set");
    lua.load("function f(x) return host_inc(x) end").exec().expect("load");
    let lf: mlua::Function = lua.globals().get("f").expect("f");
    let lua_rt = per_call(9, 100_000, |i| {
        let r: i64 = lf.call(i as i64).expect("call");
        std::hint::black_box(r);
    });

    let mut engine = rhai::Engine::new();
    engine.register_fn("host_inc", |x: i64| x + 1);
    let ast = engine.compile("fn f(x) { host_inc(x) }").expect("compile");
    let mut scope = rhai::Scope::new();
    let rhai_rt = per_call(9, 100_000, |i| {
        let r: i64 = engine
            .call_fn(&mut scope, &ast, "f", (i as i64,))
            .expect("call");
        std::hint::black_box(r);
    });

    // ---- what the limits cost when they do not fire ----
    let loop_src = "(let loop ((i 0) (acc '())) (if (= i 3000000) (length acc) (loop (+ i 1) (if (= 0 (remainder i 1000)) (cons i acc) acc))))";
    let timed_loop = |setup: &dyn Fn(&mut imp::Runtime)| {
        let (mut rt, _) = imp::Runtime::from_image_bytes(&bytes).expect("bytes");
        setup(&mut rt);
        time_runs(7, || {
            let v = rt.eval_str(loop_src).expect("loop");
            assert_eq!(v.as_i64(&rt), Some(3000));
        })
    };
    let no_limits = timed_loop(&|_| {});
    let with_fuel = timed_loop(&|rt| rt.set_fuel(Some(u64::MAX / 2)));
    let with_heap = timed_loop(&|rt| rt.set_heap_limit(Some(1 << 30)));
    let with_frames = timed_loop(&|rt| rt.set_max_frames(100_000));
    let with_all = timed_loop(&|rt| {
        rt.set_fuel(Some(u64::MAX / 2));
        rt.set_heap_limit(Some(1 << 30));
        rt.set_max_frames(100_000);
        let h = rt.interrupt_handle();
        std::mem::forget(h);
    });

    println!("engine creation, median of {runs}:");
    println!("  imp Runtime::new() (compiles its standard library)  {}", us(imp_new));
    println!("  imp Runtime::from_image(file)                        {}", us(imp_file));
    println!("  imp Runtime::from_image_bytes(embedded)              {}", us(imp_bytes));
    println!("  mlua Lua::new()                                      {}", us(lua_new));
    println!("  rhai Engine::new()                                   {}", us(rhai_new));
    println!("host -> script -> host call, median of 9 x 100,000 calls:");
    println!("  imp  call_value(f) -> (host-inc x)                   {}", ns(imp_rt));
    println!("  mlua Function::call -> host_inc(x)                   {}", ns(lua_rt));
    println!("  rhai Engine::call_fn -> host_inc(x)                  {}", ns(rhai_rt));
    println!("limits not firing: a 3,000,000-iteration Scheme loop, median of 7:");
    println!("  no limits                                            {}", us(no_limits));
    println!("  call budget set                                      {}", us(with_fuel));
    println!("  heap limit set                                       {}", us(with_heap));
    println!("  stack depth limit set                                {}", us(with_frames));
    println!("  all of them and an interrupt handle                  {}", us(with_all));
    let _ = std::fs::remove_dir_all(&dir);
}
