//! Host tier: `probe` on this machine's kernel, which has no cls_flower and lacks most
//! action modules, must say exactly that, in sentences that name the module and the
//! kernel option. (In the VM, SWITCHD_REGRESS_TIER=kernel, the kernel test checks that
//! everything is present instead.)

use tc_datapath::Tc;

#[test]
fn probe_names_what_the_host_kernel_lacks() {
    let support = Tc::new().expect("netlink socket").probe();
    eprintln!("present: {:?}", support.present);
    for m in &support.missing {
        eprintln!("missing: {m}");
    }
    if std::env::var("SWITCHD_REGRESS_TIER").as_deref() == Ok("kernel") {
        return;
    }
    // What the host kernel of our machines lacks (README.md, "Run every test": the kernel tier).
    for (module, option) in [
        ("cls_flower", "CONFIG_NET_CLS_FLOWER"),
        ("act_gact", "CONFIG_NET_ACT_GACT"),
        ("act_vlan", "CONFIG_NET_ACT_VLAN"),
        ("act_pedit", "CONFIG_NET_ACT_PEDIT"),
        ("act_police", "CONFIG_NET_ACT_POLICE"),
        ("act_tunnel_key", "CONFIG_NET_ACT_TUNNEL_KEY"),
    ] {
        assert!(!support.has(module), "{module} reported present");
        let line = support
            .missing
            .iter()
            .find(|l| l.contains(&format!("kernel lacks {module} ({option})")))
            .unwrap_or_else(|| panic!("no sentence for {module}: {:?}", support.missing));
        // The kernel's own words follow the colon.
        assert!(
            line.split(": ").nth(1).is_some_and(|w| !w.is_empty()),
            "{line}"
        );
    }
    // Every module is either present or missing, never both, never neither.
    for m in [
        "sch_clsact",
        "cls_flower",
        "act_gact",
        "act_mirred",
        "act_vlan",
        "act_pedit",
        "act_csum",
        "act_police",
        "act_tunnel_key",
        "act_skbedit",
    ] {
        let missing = support
            .missing
            .iter()
            .any(|l| l.contains(&format!("lacks {m} ")));
        assert!(
            support.has(m) != missing || (m == "sch_clsact" && !missing),
            "{m}: present {} missing {missing}",
            support.has(m)
        );
    }
}
