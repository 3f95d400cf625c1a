//! Engine creation, host→script→host call cost, a sort of host objects
//! through a host comparison, and the cost of one native call and of one
//! host-object type check: imp, mlua (Lua 5.4), rhai. Prints a table of
//! medians.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// The host type of the sort workload.
#[derive(Clone)]
struct Item {
    key: String,
}

impl mlua::UserData for Item {}

/// Items the sort workload builds and sorts.
const ITEMS: i64 = 10_000;
/// Calls in each loop of the per-call measurements.
const CALLS: i64 = 1_000_000;
/// The seed of the host's `rand`, the same for every engine and round.
const SEED: u64 = 0x9E37_79B9_7F4A_7C15;

/// The host's side of the sort workload: a PRNG (xorshift64, `rand n` is
/// the next number modulo `n`) and counts of the calls of `rand` and of
/// the comparison. Each engine gets its own, reset before each round.
#[derive(Clone)]
struct Rng(Rc<RngState>);

struct RngState {
    x: Cell<u64>,
    rand_calls: Cell<u64>,
    comparisons: Cell<u64>,
}

impl Rng {
    fn new() -> Rng {
        Rng(Rc::new(RngState {
            x: Cell::new(SEED),
            rand_calls: Cell::new(0),
            comparisons: Cell::new(0),
        }))
    }
    fn reset(&self) {
        self.0.x.set(SEED);
        self.0.rand_calls.set(0);
        self.0.comparisons.set(0);
    }
    fn rand(&self, n: i64) -> i64 {
        let mut x = self.0.x.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0.x.set(x);
        self.0.rand_calls.set(self.0.rand_calls.get() + 1);
        (x % n as u64) as i64
    }
    fn less(&self, a: &str, b: &str) -> bool {
        self.0.comparisons.set(self.0.comparisons.get() + 1);
        a < b
    }
    /// Check a script's result and the calls it made against the Rust
    /// reference.
    fn check(&self, engine: &str, got: &[String], want: &Reference) {
        assert_eq!(got, want.sorted, "{engine} sorts");
        assert_eq!(self.0.rand_calls.get(), want.rand_calls, "{engine}: rand calls");
        assert_eq!(self.0.comparisons.get(), want.comparisons, "{engine}: comparisons");
    }
}

/// What every engine's sort workload must give and call.
struct Reference {
    sorted: Vec<String>,
    rand_calls: u64,
    comparisons: u64,
}

/// The keys the scripts make: for each item, `8 + rand 16` characters, each
/// `"0123456789abcdef"[rand 16]`, in that order of calls.
fn reference_keys() -> Vec<String> {
    let rng = Rng::new();
    (0..ITEMS)
        .map(|_| {
            let n = 8 + rng.rand(16);
            (0..n)
                .map(|_| b"0123456789abcdef"[rng.rand(16) as usize] as char)
                .collect()
        })
        .collect()
}

/// The scripts' quicksort (Hoare partition, middle element as pivot) in
/// Rust, counting comparisons: every engine makes exactly this many calls
/// of its host comparison.
fn reference_quicksort(a: &mut [String], lo: isize, hi: isize, count: &mut u64) {
    if lo < hi {
        let p = a[((lo + hi) / 2) as usize].clone();
        let (mut i, mut j) = (lo, hi);
        loop {
            while {
                *count += 1;
                a[i as usize] < p
            } {
                i += 1;
            }
            while {
                *count += 1;
                p < a[j as usize]
            } {
                j -= 1;
            }
            if i <= j {
                a.swap(i as usize, j as usize);
                i += 1;
                j -= 1;
            }
            if i > j {
                break;
            }
        }
        reference_quicksort(a, lo, j, count);
        reference_quicksort(a, i, hi, count);
    }
}

// The sort workload and the call loops in each language. `rand`,
// `make-item`/`make_item` and `item<?`/`item_lt` are the host's.
const IMP_SRC: &str = r#"
(define (random-key)
  (let* ((n (+ 8 (rand 16)))
         (s (make-string n)))
    (do ((k 0 (+ k 1))) ((= k n) s)
      (string-set! s k (string-ref "0123456789abcdef" (rand 16))))))
(define (build n)
  (let ((v (make-vector n)))
    (do ((k 0 (+ k 1))) ((= k n) v)
      (vector-set! v k (make-item (random-key))))))
(define (quicksort! v lo hi)
  (if (< lo hi)
      (let ((p (vector-ref v (quotient (+ lo hi) 2))))
        (let loop ((i lo) (j hi))
          (let* ((i (let up ((i i)) (if (item<? (vector-ref v i) p) (up (+ i 1)) i)))
                 (j (let down ((j j)) (if (item<? p (vector-ref v j)) (down (- j 1)) j))))
            (if (<= i j)
                (let ((t (vector-ref v i)))
                  (vector-set! v i (vector-ref v j))
                  (vector-set! v j t)
                  (if (<= (+ i 1) (- j 1))
                      (loop (+ i 1) (- j 1))
                      (begin (quicksort! v lo (- j 1)) (quicksort! v (+ i 1) hi))))
                (begin (quicksort! v lo j) (quicksort! v i hi))))))))
(define (run n)
  (let ((v (build n)))
    (quicksort! v 0 (- n 1))
    v))
(define (script-nop a b) a)
(define (empty-loop n)
  (let loop ((i 0)) (if (< i n) (loop (+ i 1)) i)))
(define (nop-loop n)
  (let loop ((i 0)) (if (< i n) (begin (nop i i) (loop (+ i 1))) i)))
(define (nop-int-loop n)
  (let loop ((i 0)) (if (< i n) (begin (nop-int i i) (loop (+ i 1))) i)))
(define (nop-arg-loop n)
  (let loop ((i 0)) (if (< i n) (begin (nop-arg i i) (loop (+ i 1))) i)))
(define (script-nop-loop n)
  (let loop ((i 0)) (if (< i n) (begin (script-nop i i) (loop (+ i 1))) i)))
(define (check-loop n x)
  (let loop ((i 0)) (if (< i n) (begin (item-check x) (loop (+ i 1))) i)))
"#;

const LUA_SRC: &str = r#"
local HEX = "0123456789abcdef"
local function random_key()
  local n = 8 + rand(16)
  local t = {}
  for k = 1, n do
    local d = rand(16) + 1
    t[k] = string.sub(HEX, d, d)
  end
  return table.concat(t)
end
function build(n)
  local a = {}
  for k = 1, n do a[k] = make_item(random_key()) end
  return a
end
local function quicksort(a, lo, hi)
  if lo < hi then
    local p = a[(lo + hi) // 2]
    local i, j = lo, hi
    repeat
      while item_lt(a[i], p) do i = i + 1 end
      while item_lt(p, a[j]) do j = j - 1 end
      if i <= j then
        a[i], a[j] = a[j], a[i]
        i = i + 1
        j = j - 1
      end
    until i > j
    quicksort(a, lo, j)
    quicksort(a, i, hi)
  end
end
function run(n)
  local a = build(n)
  quicksort(a, 1, n)
  return a
end
local function script_nop(a, b) return a end
function empty_loop(n) for i = 1, n do end end
function nop_loop(n) for i = 1, n do nop(i, i) end end
function nop_int_loop(n) for i = 1, n do nop_int(i, i) end end
function script_nop_loop(n) for i = 1, n do script_nop(i, i) end end
function check_loop(n, x) for i = 1, n do is_item(x) end end
"#;

const RHAI_SRC: &str = r#"
fn random_key() {
  let n = 8 + rand(16);
  let s = "";
  for k in 0..n { s += "0123456789abcdef"[rand(16)]; }
  s
}
fn build(n) {
  let a = [];
  for k in 0..n { a.push(make_item(random_key())); }
  a
}
// Called as a method, so `this` is the array itself, not a copy.
fn quicksort(lo, hi) {
  if lo < hi {
    let p = this[(lo + hi) / 2];
    let i = lo;
    let j = hi;
    loop {
      while item_lt(this[i], p) { i += 1; }
      while item_lt(p, this[j]) { j -= 1; }
      if i <= j {
        let t = this[i];
        this[i] = this[j];
        this[j] = t;
        i += 1;
        j -= 1;
      }
      if i > j { break; }
    }
    this.quicksort(lo, j);
    this.quicksort(i, hi);
  }
}
fn run(n) {
  let a = build(n);
  a.quicksort(0, n - 1);
  a
}
fn script_nop(a, b) { a }
fn empty_loop(n) { for i in 0..n { } }
fn nop_loop(n) { for i in 0..n { nop(i, i); } }
fn nop_int_loop(n) { for i in 0..n { nop_int(i, i); } }
fn script_nop_loop(n) { for i in 0..n { script_nop(i, i); } }
fn check_loop(n, x) { for i in 0..n { is_item(x); } }
"#;

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

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// A per-call time from a loop's total: `CALLS` calls.
fn ns_frac(d: Duration) -> String {
    format!("{:.1} ns", d.as_secs_f64() * 1e9 / CALLS as f64)
}

/// A line of a table with a column per engine.
fn row(label: &str, imp: &str, lua: &str, rhai: &str) {
    println!("  {label:<36}{imp:>11}{lua:>11}{rhai:>11}");
}

const SORT_ROUNDS: usize = 7;
const LOOP_ROUNDS: usize = 7;

/// Total times of the `CALLS`-call loops.
struct Loops {
    empty: Duration,
    nop: Duration,
    nop_int: Duration,
    /// imp only: the arguments borrowed (`imp::Arg`), no handles.
    nop_arg: Option<Duration>,
    script_nop: Duration,
    check: Duration,
}

struct Workloads {
    /// Building the items alone.
    build: Duration,
    /// The whole workload: building and sorting.
    sort: Duration,
    loops: Loops,
}

/// imp's sort workload and call loops; None when `IMP_BENCH_ONLY` asked
/// for one of them alone (printed here, for profiling).
fn imp_workloads(bytes: &[u8], want: &Reference) -> Option<Workloads> {
    let rng = Rng::new();
    let (mut rt, _) = imp::Runtime::from_image_bytes(bytes).expect("bytes");
    let r = rng.clone();
    rt.register("rand", move |_, (n,): (i64,)| Ok(r.rand(n)))
        .expect("register");
    rt.register_type::<Item>("item").build().expect("item type");
    rt.register("make-item", |_, (key,): (String,)| Ok(imp::Host(Item { key })))
        .expect("register");
    let r = rng.clone();
    rt.register(
        "item<?",
        move |_, (a, b): (imp::HostRef<Item>, imp::HostRef<Item>)| Ok(r.less(&a.key, &b.key)),
    )
    .expect("register");
    rt.register("nop", |_, (a, _b): (imp::Value, imp::Value)| Ok(a))
        .expect("register");
    rt.register("nop-int", |_, (a, _b): (i64, i64)| Ok(a))
        .expect("register");
    rt.register("nop-arg", |_, (a, _b): (imp::Arg, imp::Arg)| Ok(a))
        .expect("register");
    rt.register("item-check", |_, (_x,): (imp::HostRef<Item>,)| Ok(true))
        .expect("register");
    rt.eval_str(IMP_SRC).expect("imp source");
    let run: imp::Value = rt.global("run").expect("run");

    // Check before timing: the script's order is the Rust sort's.
    rng.reset();
    let v: Vec<imp::Value> = rt.call_value(&run, (ITEMS,)).expect("run");
    let got: Vec<String> = {
        let mut cx = rt.scope();
        v.iter()
            .map(|x| cx.host_mut::<Item>(x).expect("item").key.clone())
            .collect()
    };
    rng.check("imp", &got, want);
    drop(v);

    let only = std::env::var("IMP_BENCH_ONLY").unwrap_or_default();
    let sort = if only.is_empty() || only == "sort" {
        time_runs(SORT_ROUNDS, || {
            rng.reset();
            let v: imp::Value = rt.call_value(&run, (ITEMS,)).expect("run");
            std::hint::black_box(&v);
        })
    } else {
        Duration::ZERO
    };
    let build: imp::Value = rt.global("build").expect("build");
    let build = if only.is_empty() || only == "sort" {
        time_runs(SORT_ROUNDS, || {
            rng.reset();
            let v: imp::Value = rt.call_value(&build, (ITEMS,)).expect("build");
            std::hint::black_box(&v);
        })
    } else {
        Duration::ZERO
    };
    if only == "sort" {
        println!("imp sort workload {} (build alone {})", ms(sort), ms(build));
        return None;
    }

    let item = rt.host_object(Item { key: "x".into() }).expect("item");
    let mut time_loop = |name: &str, extra: Option<&imp::Value>| {
        let f: imp::Value = rt.global(name).expect("loop");
        time_runs(LOOP_ROUNDS, || {
            let n: i64 = match extra {
                None => rt.call_value(&f, (CALLS,)),
                Some(x) => rt.call_value(&f, (CALLS, x)),
            }
            .expect("loop");
            assert_eq!(n, CALLS);
        })
    };
    let loops = Loops {
        empty: time_loop("empty-loop", None),
        nop: time_loop("nop-loop", None),
        nop_int: time_loop("nop-int-loop", None),
        nop_arg: Some(time_loop("nop-arg-loop", None)),
        script_nop: time_loop("script-nop-loop", None),
        check: time_loop("check-loop", Some(&item)),
    };
    if only == "calls" {
        for (name, d) in [
            ("empty loop", loops.empty),
            ("native (a, b) -> a", loops.nop),
            ("native integers", loops.nop_int),
            ("native imp::Arg", loops.nop_arg.unwrap_or_default()),
            ("script function", loops.script_nop),
            ("type check", loops.check),
        ] {
            println!("imp {name} {}", ns_frac(d));
        }
        return None;
    }
    Some(Workloads { build, sort, loops })
}

fn lua_workloads(want: &Reference) -> Workloads {
    use mlua::{UserDataRef, Value};
    let rng = Rng::new();
    let lua = mlua::Lua::new();
    let g = lua.globals();
    let r = rng.clone();
    let f = lua.create_function(move |_, n: i64| Ok(r.rand(n)));
    g.set("rand", f.expect("function")).expect("set");
    let f = lua.create_function(|_, key: String| Ok(Item { key }));
    g.set("make_item", f.expect("function")).expect("set");
    let r = rng.clone();
    let f = lua.create_function(move |_, (a, b): (UserDataRef<Item>, UserDataRef<Item>)| {
        Ok(r.less(&a.key, &b.key))
    });
    g.set("item_lt", f.expect("function")).expect("set");
    let f = lua.create_function(|_, (a, _b): (Value, Value)| Ok(a));
    g.set("nop", f.expect("function")).expect("set");
    let f = lua.create_function(|_, (a, _b): (i64, i64)| Ok(a));
    g.set("nop_int", f.expect("function")).expect("set");
    let f = lua.create_function(|_, _x: UserDataRef<Item>| Ok(true));
    g.set("is_item", f.expect("function")).expect("set");
    lua.load(LUA_SRC).exec().expect("lua source");
    let run: mlua::Function = g.get("run").expect("run");

    rng.reset();
    let t: mlua::Table = run.call(ITEMS).expect("run");
    let got: Vec<String> = (1..=ITEMS)
        .map(|i| t.get::<UserDataRef<Item>>(i).expect("item").key.clone())
        .collect();
    rng.check("mlua", &got, want);
    drop(t);

    let sort = time_runs(SORT_ROUNDS, || {
        rng.reset();
        let t: mlua::Table = run.call(ITEMS).expect("run");
        std::hint::black_box(&t);
    });
    let build: mlua::Function = g.get("build").expect("build");
    let build = time_runs(SORT_ROUNDS, || {
        rng.reset();
        let t: mlua::Table = build.call(ITEMS).expect("build");
        std::hint::black_box(&t);
    });
    let item = lua.create_userdata(Item { key: "x".into() }).expect("item");
    let time_loop = |name: &str, extra: Option<&mlua::AnyUserData>| {
        let f: mlua::Function = g.get(name).expect("loop");
        time_runs(LOOP_ROUNDS, || {
            match extra {
                None => f.call::<()>(CALLS),
                Some(x) => f.call::<()>((CALLS, x)),
            }
            .expect("loop");
        })
    };
    let loops = Loops {
        empty: time_loop("empty_loop", None),
        nop: time_loop("nop_loop", None),
        nop_int: time_loop("nop_int_loop", None),
        nop_arg: None,
        script_nop: time_loop("script_nop_loop", None),
        check: time_loop("check_loop", Some(&item)),
    };
    Workloads { build, sort, loops }
}

fn rhai_workloads(want: &Reference) -> Workloads {
    use rhai::{Array, Dynamic};
    let rng = Rng::new();
    let mut engine = rhai::Engine::new();
    // The quicksort recurses deeper than the default 64 calls now and then.
    engine.set_max_call_levels(10_000);
    engine.register_type_with_name::<Item>("Item");
    let r = rng.clone();
    engine.register_fn("rand", move |n: i64| r.rand(n));
    engine.register_fn("make_item", |key: String| Item { key });
    let r = rng.clone();
    engine.register_fn("item_lt", move |a: &mut Item, b: Item| r.less(&a.key, &b.key));
    engine.register_fn("nop", |a: Dynamic, _b: Dynamic| a);
    engine.register_fn("nop_int", |a: i64, _b: i64| a);
    engine.register_fn("is_item", |_x: &mut Item| true);
    let ast = engine.compile(RHAI_SRC).expect("rhai source");
    let mut scope = rhai::Scope::new();

    rng.reset();
    let a: Array = engine
        .call_fn(&mut scope, &ast, "run", (ITEMS,))
        .expect("run");
    let got: Vec<String> = a.into_iter().map(|x| x.cast::<Item>().key).collect();
    rng.check("rhai", &got, want);

    let sort = time_runs(SORT_ROUNDS, || {
        rng.reset();
        let a: Array = engine
            .call_fn(&mut scope, &ast, "run", (ITEMS,))
            .expect("run");
        std::hint::black_box(&a);
    });
    let build = time_runs(SORT_ROUNDS, || {
        rng.reset();
        let a: Array = engine
            .call_fn(&mut scope, &ast, "build", (ITEMS,))
            .expect("build");
        std::hint::black_box(&a);
    });
    let item = Item { key: "x".into() };
    let mut time_loop = |name: &str, extra: Option<&Item>| {
        time_runs(LOOP_ROUNDS, || {
            match extra {
                None => engine.call_fn::<()>(&mut scope, &ast, name, (CALLS,)),
                Some(x) => engine.call_fn::<()>(&mut scope, &ast, name, (CALLS, x.clone())),
            }
            .expect("loop");
        })
    };
    let loops = Loops {
        empty: time_loop("empty_loop", None),
        nop: time_loop("nop_loop", None),
        nop_int: time_loop("nop_int_loop", None),
        nop_arg: None,
        script_nop: time_loop("script_nop_loop", None),
        check: time_loop("check_loop", Some(&item)),
    };
    Workloads { build, sort, loops }
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

    // ---- the sort workload and the per-call loops ----
    let mut keys = reference_keys();
    let mut comparisons = 0;
    reference_quicksort(&mut keys, 0, ITEMS as isize - 1, &mut comparisons);
    let mut sorted = reference_keys();
    sorted.sort();
    assert_eq!(keys, sorted, "the reference quicksort sorts");
    let rand_calls = sorted.iter().map(|k| k.len() as u64 + 1).sum::<u64>();
    let want = Reference {
        sorted,
        rand_calls,
        comparisons,
    };
    let Some(imp_w) = imp_workloads(&bytes, &want) else {
        return;
    };
    let lua_w = lua_workloads(&want);
    let rhai_w = rhai_workloads(&want);

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
    println!(
        "sort: the script builds {ITEMS} host items (keys from {rand_calls} host `rand` calls)"
    );
    println!(
        "and quicksorts them ({comparisons} calls of a host comparison), median of {SORT_ROUNDS}:"
    );
    row("", "imp", "mlua", "rhai");
    row(
        "build and sort (the workload)",
        &ms(imp_w.sort),
        &ms(lua_w.sort),
        &ms(rhai_w.sort),
    );
    row(
        "build alone",
        &ms(imp_w.build),
        &ms(lua_w.build),
        &ms(rhai_w.build),
    );
    let per_cmp = |w: &Workloads| ns(w.sort.saturating_sub(w.build) / comparisons as u32);
    row(
        "(workload - build) / comparison",
        &per_cmp(&imp_w),
        &per_cmp(&lua_w),
        &per_cmp(&rhai_w),
    );
    println!(
        "per call in a script loop of {CALLS} calls (loop included), median of {LOOP_ROUNDS}:"
    );
    row("", "imp", "mlua", "rhai");
    for (name, f) in [
        (
            "empty loop (no call)",
            (|w: &Loops| w.empty) as fn(&Loops) -> Duration,
        ),
        ("native (a, b) -> a, any values", |w| w.nop),
        ("native (a, b) -> a, integers", |w| w.nop_int),
        ("script function (a, b) -> a", |w| w.script_nop),
        ("native type check of an Item", |w| w.check),
    ] {
        row(
            name,
            &ns_frac(f(&imp_w.loops)),
            &ns_frac(f(&lua_w.loops)),
            &ns_frac(f(&rhai_w.loops)),
        );
    }
    if let Some(d) = imp_w.loops.nop_arg {
        row("native (a, b) -> a, borrowed (Arg)", &ns_frac(d), "-", "-");
    }
    let above = |d: Duration| ns_frac(d.saturating_sub(imp_w.loops.empty));
    println!("imp per call above its empty loop:");
    row("native (a, b) -> a, integers", &above(imp_w.loops.nop_int), "", "");
    if let Some(d) = imp_w.loops.nop_arg {
        row("native (a, b) -> a, borrowed (Arg)", &above(d), "", "");
    }
    row("script function (a, b) -> a", &above(imp_w.loops.script_nop), "", "");
    println!("limits not firing: a 3,000,000-iteration Scheme loop, median of 7:");
    println!("  no limits                                            {}", us(no_limits));
    println!("  call budget set                                      {}", us(with_fuel));
    println!("  heap limit set                                       {}", us(with_heap));
    println!("  stack depth limit set                                {}", us(with_frames));
    println!("  all of them and an interrupt handle                  {}", us(with_all));
    imp_async(&bytes);
    let _ = std::fs::remove_dir_all(&dir);
}

/// imp's async natives: a call awaiting a future that is ready at once,
/// and 10,000 green threads each awaiting a 10 ms tokio sleep (a
/// multi-threaded tokio runtime entered on this thread drives the timers).
fn imp_async(bytes: &[u8]) {
    let tokio_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_time()
        .build()
        .expect("tokio");
    let _entered = tokio_rt.enter();
    let (mut rt, _) = imp::Runtime::from_image_bytes(bytes).expect("bytes");
    rt.register_async("ready", |(n,): (i64,)| async move { Ok(n) })
        .expect("register");
    rt.register_async("sleep-ms", |(ms, v): (u64, i64)| async move {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        Ok(v)
    })
    .expect("register");
    rt.eval_str(
        "(define (ready-loop n) (let loop ((i 0)) (if (< i n) (begin (ready i) (loop (+ i 1))) i)))
         (define (sleepers n ms)
           (let ((ts (let make ((i 0) (acc '()))
                       (if (= i n) acc
                           (make (+ i 1) (cons (thread-start! (make-thread (lambda () (sleep-ms ms i)))) acc))))))
             (let join ((ts ts) (sum 0)) (if (null? ts) sum (join (cdr ts) (+ sum (thread-join! (car ts))))))))",
    )
    .expect("define");
    let n = 100_000;
    let mut per: Vec<f64> = (0..7)
        .map(|_| {
            let t = std::time::Instant::now();
            rt.eval_str(&format!("(ready-loop {n})")).expect("ready");
            t.elapsed().as_nanos() as f64 / n as f64
        })
        .collect();
    per.sort_by(|a, b| a.total_cmp(b));
    let mut wall: Vec<f64> = (0..7)
        .map(|_| {
            let t = std::time::Instant::now();
            let v = rt.eval_str("(sleepers 10000 10)").expect("sleepers");
            assert_eq!(v.as_i64(&rt), Some(49_995_000));
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    wall.sort_by(|a, b| a.total_cmp(b));
    // A host-object type check alone, from Rust (`is_host`: the object's
    // type index compared with the type's), and a check with a borrow of
    // the value (`HostRef::from_value`: its Rc cloned and dropped too).
    rt.register_type::<Item>("item").build().expect("item type");
    let item = rt.host_object(Item { key: "k".into() }).expect("item");
    let mut median_ns = |f: &mut dyn FnMut(&mut imp::Scope<'_>) -> bool| {
        let mut runs: Vec<f64> = (0..7)
            .map(|_| {
                let mut cx = rt.scope();
                let t = std::time::Instant::now();
                for _ in 0..1_000_000 {
                    std::hint::black_box(f(&mut cx));
                }
                t.elapsed().as_nanos() as f64 / 1e6
            })
            .collect();
        runs.sort_by(|a, b| a.total_cmp(b));
        runs[3]
    };
    let check = median_ns(&mut |cx| cx.is_host::<Item>(std::hint::black_box(&item)));
    let borrow = median_ns(&mut |cx| {
        <imp::HostRef<Item> as imp::FromValue>::from_value(std::hint::black_box(&item), cx).is_ok()
    });
    println!("imp host-object type check from Rust, median of 7:");
    println!("  Scope::is_host::<T> (the check)                  {check:8.1} ns");
    println!("  HostRef::<T>::from_value (check and borrow)      {borrow:8.1} ns");
    println!("imp async natives, median of 7:");
    println!("  a call awaiting a ready future (loop included)   {:8.1} ns", per[3]);
    println!("  10,000 green threads each awaiting a 10 ms tokio sleep  {:6.1} ms wall", wall[3]);
}
