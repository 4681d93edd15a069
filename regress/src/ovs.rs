//! A private Open vSwitch: its own run directory, database and daemons, userspace datapath.
//!
//! Never the system's: both daemons are our children, every socket lives in
//! `/tmp/swt-ovs-<pid>-<n>/`, and bridges use `datapath_type=netdev`, so no kernel module
//! is needed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::cmd::{run_env, CmdError};
use crate::proc::Proc;
use crate::unique_name;

/// Errors starting or driving the private Open vSwitch.
#[derive(Debug, thiserror::Error)]
pub enum OvsError {
    #[error(transparent)]
    Cmd(#[from] CmdError),
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("{0} did not come up within 60 s (see its log in {1})")]
    Timeout(&'static str, String),
    #[error("{0} did not exit within 10 s (see its log in {1})")]
    NoExit(&'static str, String),
}

/// A running private Open vSwitch. Dropping it stops both daemons and removes its directory
/// (bridges and their tap devices go with ovs-vswitchd).
#[derive(Debug)]
pub struct Ovs {
    // Declaration order is drop order: vswitchd before the database it reads.
    vswitchd: Proc,
    ovsdb: Proc,
    dir: PathBuf,
}

impl Ovs {
    pub fn start() -> Result<Ovs, OvsError> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        // unique_name() also sweeps leftovers of dead test processes, once per process.
        let _ = unique_name();
        let dir = std::env::temp_dir().join(format!(
            "swt-ovs-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let io = |what: &str| {
            let what = what.to_string();
            move |source| OvsError::Io { what, source }
        };
        std::fs::create_dir_all(&dir).map_err(io("create the OVS run directory"))?;
        let d = dir.display().to_string();
        let db = format!("{d}/conf.db");
        run_env(
            &[
                "ovsdb-tool",
                "create",
                &db,
                "/usr/share/openvswitch/vswitch.ovsschema",
            ],
            &[],
        )?;
        let ovsdb = Proc::spawn(
            "ovsdb-server",
            Command::new("ovsdb-server")
                .arg(&db)
                .arg(format!("--remote=punix:{d}/db.sock"))
                .arg(format!("--unixctl={d}/ovsdb-server.ctl"))
                .arg(format!("--log-file={d}/ovsdb-server.log"))
                .arg("--no-chdir")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .envs(Self::env_of(&dir)),
        )
        .map_err(io("start ovsdb-server"))?;
        wait_for(&dir.join("db.sock"), "ovsdb-server", &d)?;
        run_env(
            &[
                "ovs-vsctl",
                &format!("--db=unix:{d}/db.sock"),
                "--no-wait",
                "init",
            ],
            &[],
        )?;
        let vswitchd = Self::start_vswitchd(&dir)?;
        Ok(Ovs {
            vswitchd,
            ovsdb,
            dir,
        })
    }

    /// Start ovs-vswitchd on the database in `dir` and wait for its control socket.
    fn start_vswitchd(dir: &Path) -> Result<Proc, OvsError> {
        let d = dir.display().to_string();
        let vswitchd = Proc::spawn(
            "ovs-vswitchd",
            Command::new("ovs-vswitchd")
                .arg(format!("unix:{d}/db.sock"))
                .arg(format!("--unixctl={d}/ovs-vswitchd.ctl"))
                .arg(format!("--log-file={d}/ovs-vswitchd.log"))
                .arg("--no-chdir")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .envs(Self::env_of(dir)),
        )
        .map_err(|source| OvsError::Io {
            what: "start ovs-vswitchd".to_string(),
            source,
        })?;
        wait_for(&dir.join("ovs-vswitchd.ctl"), "ovs-vswitchd", &d)?;
        Ok(vswitchd)
    }

    /// Stop ovs-vswitchd (`ovs-appctl exit`) and start it again on the same database, as
    /// after a crash or an upgrade: its flow tables are empty, and its bridges connect to
    /// their controllers anew. The database (bridges, ports, controllers) stays.
    pub(crate) fn restart_vswitchd(&mut self) -> Result<(), OvsError> {
        self.appctl(&["exit"])?;
        if self
            .vswitchd
            .wait_timeout(Duration::from_secs(10))
            .is_none()
        {
            return Err(OvsError::NoExit(
                "ovs-vswitchd",
                self.dir.display().to_string(),
            ));
        }
        let _ = std::fs::remove_file(self.dir.join("ovs-vswitchd.ctl"));
        self.vswitchd = Self::start_vswitchd(&self.dir)?;
        Ok(())
    }

    /// The pid of this instance's ovs-vswitchd (e.g. to SIGSTOP it).
    pub fn vswitchd_pid(&self) -> u32 {
        self.vswitchd.pid()
    }

    fn env_of(dir: &Path) -> Vec<(String, String)> {
        let d = dir.display().to_string();
        ["OVS_RUNDIR", "OVS_DBDIR", "OVS_LOGDIR", "OVS_SYSCONFDIR"]
            .iter()
            .map(|k| (k.to_string(), d.clone()))
            .collect()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn tool(&self, tool: &str, args: &[&str]) -> Result<String, CmdError> {
        let env = Self::env_of(&self.dir);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let db = format!("--db=unix:{}/db.sock", self.dir.display());
        let mut v = vec![tool];
        if tool == "ovs-vsctl" {
            v.push(&db);
            v.push("--timeout=10");
        }
        v.extend_from_slice(args);
        run_env(&v, &env)
    }

    /// `ovs-vsctl ARGS...` against this instance's database.
    pub fn vsctl(&self, args: &[&str]) -> Result<String, CmdError> {
        self.tool("ovs-vsctl", args)
    }

    /// `ovs-ofctl ARGS...`; a bridge name reaches this instance's `<bridge>.mgmt` socket.
    pub fn ofctl(&self, args: &[&str]) -> Result<String, CmdError> {
        self.tool("ovs-ofctl", args)
    }

    /// `ovs-appctl -t ovs-vswitchd ARGS...` for this instance.
    pub(crate) fn appctl(&self, args: &[&str]) -> Result<String, CmdError> {
        let target = format!("{}/ovs-vswitchd.ctl", self.dir.display());
        let mut v = vec!["-t", target.as_str()];
        v.extend_from_slice(args);
        self.tool("ovs-appctl", &v)
    }

    /// Add a userspace-datapath bridge with a unique name (its internal port is a tap device
    /// of that name in the root namespace) and return the name.
    pub fn add_bridge(&self) -> Result<String, CmdError> {
        let name = unique_name();
        self.vsctl(&[
            "add-br",
            &name,
            "--",
            "set",
            "bridge",
            &name,
            "datapath_type=netdev",
        ])?;
        Ok(name)
    }

    /// Attach an existing device (e.g. a veth end in the root namespace) to a bridge and
    /// give it an OpenFlow port number.
    pub fn add_port(&self, bridge: &str, ifname: &str, ofport: u16) -> Result<(), CmdError> {
        self.vsctl(&[
            "add-port",
            bridge,
            ifname,
            "--",
            "set",
            "interface",
            ifname,
            &format!("ofport_request={ofport}"),
        ])?;
        Ok(())
    }

    /// Whether ovs-vswitchd is still running.
    pub fn is_running(&mut self) -> bool {
        self.vswitchd.is_running() && self.ovsdb.is_running()
    }
}

fn wait_for(path: &Path, what: &'static str, dir: &str) -> Result<(), OvsError> {
    // 60 s: in the kernel-tier VM (software emulation, binaries read over the shared file
    // system) a daemon's first start takes longer than 10 s.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !path.exists() {
        if Instant::now() > deadline {
            return Err(OvsError::Timeout(what, dir.to_string()));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

impl Drop for Ovs {
    fn drop(&mut self) {
        // Delete bridges first so that their tap devices go even if vswitchd dies hard.
        if let Ok(brs) = self.vsctl(&["list-br"]) {
            for br in brs.lines() {
                let _ = self.vsctl(&["--if-exists", "del-br", br]);
            }
        }
        self.vswitchd.stop();
        self.ovsdb.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
