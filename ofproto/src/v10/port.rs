//! Ports: `ofp_phy_port` (spec 5.2.1), PORT_STATUS (5.4.3) and PORT_MOD (5.3.3).

use bytes::{BufMut, BytesMut};

use super::wire::{put_pad, FixedStr, Reader};
use crate::error::DecodeError;

/// `sizeof(struct ofp_phy_port)`.
pub const PHY_PORT_LEN: usize = 48;
/// `OFP_MAX_PORT_NAME_LEN`.
pub const MAX_PORT_NAME_LEN: usize = 16;

/// `enum ofp_port`: reserved port numbers.
pub mod port_no {
    /// Highest number of a physical port.
    pub const MAX: u16 = 0xff00;
    pub const IN_PORT: u16 = 0xfff8;
    pub const TABLE: u16 = 0xfff9;
    pub const NORMAL: u16 = 0xfffa;
    pub const FLOOD: u16 = 0xfffb;
    pub const ALL: u16 = 0xfffc;
    pub const CONTROLLER: u16 = 0xfffd;
    pub const LOCAL: u16 = 0xfffe;
    pub const NONE: u16 = 0xffff;
}

/// `enum ofp_port_config` bits.
pub mod port_config {
    pub const PORT_DOWN: u32 = 1 << 0;
    pub const NO_STP: u32 = 1 << 1;
    pub const NO_RECV: u32 = 1 << 2;
    pub const NO_RECV_STP: u32 = 1 << 3;
    pub const NO_FLOOD: u32 = 1 << 4;
    pub const NO_FWD: u32 = 1 << 5;
    pub const NO_PACKET_IN: u32 = 1 << 6;
}

/// `enum ofp_port_state` bits.
pub mod port_state {
    pub const LINK_DOWN: u32 = 1 << 0;
    pub const STP_LISTEN: u32 = 0 << 8;
    pub const STP_LEARN: u32 = 1 << 8;
    pub const STP_FORWARD: u32 = 2 << 8;
    pub const STP_BLOCK: u32 = 3 << 8;
    pub const STP_MASK: u32 = 3 << 8;
}

/// `enum ofp_port_features` bits.
pub mod port_features {
    pub const F_10MB_HD: u32 = 1 << 0;
    pub const F_10MB_FD: u32 = 1 << 1;
    pub const F_100MB_HD: u32 = 1 << 2;
    pub const F_100MB_FD: u32 = 1 << 3;
    pub const F_1GB_HD: u32 = 1 << 4;
    pub const F_1GB_FD: u32 = 1 << 5;
    pub const F_10GB_FD: u32 = 1 << 6;
    pub const COPPER: u32 = 1 << 7;
    pub const FIBER: u32 = 1 << 8;
    pub const AUTONEG: u32 = 1 << 9;
    pub const PAUSE: u32 = 1 << 10;
    pub const PAUSE_ASYM: u32 = 1 << 11;
}

/// `enum ofp_port_reason` (PORT_STATUS).
pub mod port_reason {
    pub const ADD: u8 = 0;
    pub const DELETE: u8 = 1;
    pub const MODIFY: u8 = 2;
}

/// `struct ofp_phy_port`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PhyPort {
    pub port_no: u16,
    pub hw_addr: [u8; 6],
    pub name: FixedStr<MAX_PORT_NAME_LEN>,
    pub config: u32,
    pub state: u32,
    pub curr: u32,
    pub advertised: u32,
    pub supported: u32,
    pub peer: u32,
}

impl PhyPort {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(PhyPort {
            port_no: r.u16("phy_port: port_no")?,
            hw_addr: r.array("phy_port: hw_addr")?,
            name: FixedStr(r.array("phy_port: name")?),
            config: r.u32("phy_port: config")?,
            state: r.u32("phy_port: state")?,
            curr: r.u32("phy_port: curr")?,
            advertised: r.u32("phy_port: advertised")?,
            supported: r.u32("phy_port: supported")?,
            peer: r.u32("phy_port: peer")?,
        })
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        out.put_u16(self.port_no);
        out.put_slice(&self.hw_addr);
        out.put_slice(&self.name.0);
        out.put_u32(self.config);
        out.put_u32(self.state);
        out.put_u32(self.curr);
        out.put_u32(self.advertised);
        out.put_u32(self.supported);
        out.put_u32(self.peer);
    }
}

/// OFPT_PORT_STATUS body: reason, 7 bytes pad, the port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortStatus {
    /// One of [`port_reason`], kept raw.
    pub reason: u8,
    pub desc: PhyPort,
}

impl PortStatus {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let reason = r.u8("port_status: reason")?;
        r.pad(7, "port_status: pad")?;
        Ok(PortStatus {
            reason,
            desc: PhyPort::decode(r)?,
        })
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        out.put_u8(self.reason);
        put_pad(out, 7);
        self.desc.encode(out);
    }
}

/// OFPT_PORT_MOD body (`struct ofp_port_mod`, 32 bytes with the header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PortMod {
    pub port_no: u16,
    /// Must be the port's hardware address; a sanity check, not a change.
    pub hw_addr: [u8; 6],
    pub config: u32,
    /// Which `config` bits to change.
    pub mask: u32,
    /// Features to advertise; 0 leaves them unchanged.
    pub advertise: u32,
}

impl PortMod {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let pm = PortMod {
            port_no: r.u16("port_mod: port_no")?,
            hw_addr: r.array("port_mod: hw_addr")?,
            config: r.u32("port_mod: config")?,
            mask: r.u32("port_mod: mask")?,
            advertise: r.u32("port_mod: advertise")?,
        };
        r.pad(4, "port_mod: pad")?;
        Ok(pm)
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        out.put_u16(self.port_no);
        out.put_slice(&self.hw_addr);
        out.put_u32(self.config);
        out.put_u32(self.mask);
        out.put_u32(self.advertise);
        put_pad(out, 4);
    }
}
