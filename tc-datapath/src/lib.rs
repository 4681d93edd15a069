//! Translation of OpenFlow flows to TC flower filters, and the rtnetlink side that applies them.
//!
//! (Arrives with the tc-datapath issue; this crate is the workspace slot for it.)
