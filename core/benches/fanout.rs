//! Event fan-out: emitting message deltas to 1 and to 10 `events()` subscribers that read them all.
//!
//! `cargo bench -p modelport --features testing --bench fanout`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use modelport::testing::FanOut;

fn bench(c: &mut Criterion) {
    const N: usize = 10_000;
    let mut g = c.benchmark_group("event_fanout");
    for subscribers in [1, 10] {
        g.throughput(Throughput::Elements((N * subscribers) as u64));
        let mut fan = FanOut::new(subscribers);
        g.bench_function(format!("{subscribers}_subscribers"), |b| {
            b.iter(|| assert_eq!(fan.run(N), N * subscribers))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
