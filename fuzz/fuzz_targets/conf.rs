//! switchd.conf as `switchctl load` hands it over (no includes): must not panic, and a
//! configuration that parses prints (`switchd -nv`'s canonical form) to text that parses
//! to the same configuration.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(cfg) = conf::parse_untrusted("fuzz.conf", text, &[]) {
        let printed = cfg.to_string();
        let again = conf::parse_untrusted("printed.conf", &printed, &[])
            .unwrap_or_else(|e| panic!("our own print does not parse: {e}\n{printed}"));
        assert_eq!(
            again, cfg,
            "print/parse changed the configuration:\n{printed}"
        );
    }
});
