//! Work on many independent items (flow lines to parse, flows to translate) spread over
//! the machine's CPUs: a local switch with 100,000 configured flows spends seconds of
//! CPU on them at start and after a restart, and nothing of it needs the kernel.

use std::num::NonZeroUsize;

/// Below this many items, threads cost more than they save.
const MIN_PER_THREAD: usize = 256;
/// At most this many threads at once.
const MAX_THREADS: usize = 8;

/// `f` of every item, in order. Runs on scoped threads when there are enough items and
/// CPUs; a thread that cannot be started leaves its share to the caller's thread.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let cpus = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
    let threads = cpus.min(MAX_THREADS).min(items.len() / MIN_PER_THREAD);
    if threads < 2 {
        return items.iter().map(&f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|c| {
                let h = std::thread::Builder::new()
                    .name("tc-datapath-par".into())
                    .spawn_scoped(s, move || c.iter().map(f).collect::<Vec<R>>());
                (c, h)
            })
            .collect();
        let mut out = Vec::with_capacity(items.len());
        for (c, h) in handles {
            match h.map(|h| h.join()) {
                Ok(Ok(v)) => out.extend(v),
                // A panic in `f` is a bug like any other: let it go on.
                Ok(Err(p)) => std::panic::resume_unwind(p),
                Err(_) => out.extend(c.iter().map(f)),
            }
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::map;

    #[test]
    fn results_come_in_the_order_of_the_items() {
        for n in [0, 1, 255, 256, 511, 512, 4096, 10_001] {
            let items: Vec<u64> = (0..n).collect();
            let out = map(&items, |x| x * 3 + 1);
            assert_eq!(
                out,
                items.iter().map(|x| x * 3 + 1).collect::<Vec<_>>(),
                "{n}"
            );
        }
    }
}
