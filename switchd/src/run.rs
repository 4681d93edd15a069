//! A child's start: which capabilities each process keeps and which entry function it runs.
//! `child.rs` does the work every child shares; this file names the three processes, so
//! that the process files can use `child.rs` without it depending on them.

use caps::Capability;

use crate::msg::Role;
use crate::{child, fatalx};

/// Run the child `role` (the binary was exec'd under its title): never returns.
pub fn child(role: Role) -> ! {
    let keep: &[Capability] = match role {
        Role::Control => crate::control::KEEP_CAPS,
        Role::Ofp => crate::ofp::KEEP_CAPS,
        Role::Datapath => crate::datapath::KEEP_CAPS,
        Role::Parent => fatalx!("the parent is not a child"),
    };
    let setup = child::setup(role, keep);
    child::run(async move {
        match role {
            Role::Control => crate::control::control(setup).await,
            Role::Ofp => crate::ofp::ofp(setup).await,
            Role::Datapath => crate::datapath::datapath(setup).await,
            Role::Parent => 1,
        }
    })
}
