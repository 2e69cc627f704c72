//! The kernel sandbox of task processes, as the runner decides it.
//!
//! The steps themselves run in the forkserver and in each task child (`python/sandbox.py`); this
//! module owns what Rust contributes to them: the seccomp programs (compiled once here, installed
//! by each child), the sandbox mode (`N8N_RUNNERS_SANDBOX`), and what is made of the layers the
//! forkserver reports: the start-up line, the metrics, and refusing to start in strict mode.
//! Starting the forkserver in namespaces of its own lives in `forkserver.rs`.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};
use serde::Deserialize;

/// `N8N_RUNNERS_SANDBOX`: what to do when a layer is unavailable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Start anyway, saying loudly which layers are missing (the default).
    BestEffort,
    /// Refuse to start unless every layer is in force.
    Strict,
}

impl Mode {
    pub fn parse(raw: &str) -> Option<Mode> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "" | "best-effort" | "best_effort" => Some(Mode::BestEffort),
            "strict" => Some(Mode::Strict),
            _ => None,
        }
    }
}

/// The layers in force for task processes, as the forkserver found them by confining a
/// throw-away child.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct Report {
    /// The Landlock ABI version in use; 0 when Landlock is off.
    pub landlock: u32,
    pub seccomp: bool,
    /// The namespaces each task gets, e.g. `["user", "pid", "mount"]`.
    pub namespaces: Vec<String>,
    /// `off`, `on (namespace)`, `on (seccomp)` or `unavailable`.
    pub network_isolation: String,
    /// Always `none`: a task that cannot drop its capabilities does not run.
    pub capabilities: String,
    /// The uid task processes run as (as they see it).
    pub task_uid: u32,
}

impl Report {
    /// Every layer on, as on this project's machines.
    #[cfg(test)]
    pub(crate) fn complete_example() -> Report {
        Report {
            landlock: 7,
            seccomp: true,
            namespaces: vec!["user".into(), "pid".into(), "mount".into()],
            network_isolation: "off".into(),
            capabilities: "none".into(),
            task_uid: 65534,
        }
    }

    /// The start-up line: `Sandbox: landlock v7 on, seccomp on, namespaces user+pid+mount on,
    /// network isolation off, capabilities none`.
    pub fn line(&self) -> String {
        let on_off = |on: bool| if on { "on" } else { "OFF" };
        let landlock = if self.landlock > 0 {
            format!("landlock v{} on", self.landlock)
        } else {
            "landlock OFF".to_owned()
        };
        let namespaces = if self.namespaces.is_empty() {
            "namespaces OFF".to_owned()
        } else {
            format!("namespaces {} on", self.namespaces.join("+"))
        };
        format!(
            "Sandbox: {landlock}, seccomp {}, {namespaces}, network isolation {}, capabilities {}, \
             task uid {}",
            on_off(self.seccomp),
            self.network_isolation,
            self.capabilities,
            self.task_uid
        )
    }

    /// The layers that are not in force; empty when the sandbox is complete.
    pub fn missing(&self, network_isolation_wanted: bool) -> Vec<&'static str> {
        let mut missing = Vec::new();
        if self.landlock == 0 {
            missing.push("landlock");
        }
        if !self.seccomp {
            missing.push("seccomp");
        }
        if self.namespaces.is_empty() {
            missing.push("namespaces");
        }
        if network_isolation_wanted && self.network_isolation == "unavailable" {
            missing.push("network isolation");
        }
        missing
    }
}

/// Syscalls no task needs and an attacker wants, answered with EPERM so the task sees an
/// ordinary `PermissionError`, never a kill.
fn denied_syscalls() -> Vec<i64> {
    use nix::libc;
    let mut list = vec![
        // Reading or changing other processes.
        libc::SYS_ptrace,
        libc::SYS_process_vm_readv,
        libc::SYS_process_vm_writev,
        libc::SYS_kcmp,
        libc::SYS_pidfd_getfd,
        // Mounts and namespaces, once the sandbox is set up.
        libc::SYS_mount,
        libc::SYS_umount2,
        libc::SYS_pivot_root,
        libc::SYS_chroot,
        libc::SYS_unshare,
        libc::SYS_setns,
        libc::SYS_open_tree,
        libc::SYS_move_mount,
        libc::SYS_fsopen,
        libc::SYS_fsconfig,
        libc::SYS_fsmount,
        libc::SYS_fspick,
        libc::SYS_mount_setattr,
        libc::SYS_name_to_handle_at,
        libc::SYS_open_by_handle_at,
        // Kernel attack surface: keyrings, BPF, perf, io_uring (whose operations seccomp cannot
        // see), userfaultfd (a classic race-widening tool), personality.
        libc::SYS_keyctl,
        libc::SYS_add_key,
        libc::SYS_request_key,
        libc::SYS_bpf,
        libc::SYS_perf_event_open,
        libc::SYS_io_uring_setup,
        libc::SYS_io_uring_enter,
        libc::SYS_io_uring_register,
        libc::SYS_userfaultfd,
        libc::SYS_personality,
        libc::SYS_fanotify_init,
        // The machine itself: modules, reboot, kexec, swap, clocks, accounting, quotas, logs.
        libc::SYS_init_module,
        libc::SYS_finit_module,
        libc::SYS_delete_module,
        libc::SYS_reboot,
        libc::SYS_kexec_load,
        libc::SYS_kexec_file_load,
        libc::SYS_swapon,
        libc::SYS_swapoff,
        libc::SYS_clock_settime,
        libc::SYS_clock_adjtime,
        libc::SYS_settimeofday,
        libc::SYS_adjtimex,
        libc::SYS_acct,
        libc::SYS_quotactl,
        libc::SYS_syslog,
        libc::SYS_vhangup,
        libc::SYS_sethostname,
        libc::SYS_setdomainname,
        // System V IPC and POSIX message queues outlive the task that made them.
        libc::SYS_shmget,
        libc::SYS_semget,
        libc::SYS_msgget,
        libc::SYS_mq_open,
    ];
    #[cfg(target_arch = "x86_64")]
    list.extend([
        libc::SYS_iopl,
        libc::SYS_ioperm,
        libc::SYS_uselib,
        libc::SYS_lookup_dcookie,
    ]);
    list
}

fn target_arch() -> Result<TargetArch, String> {
    TargetArch::try_from(std::env::consts::ARCH)
        .map_err(|_| format!("seccomp: no filter for {}", std::env::consts::ARCH))
}

fn condition(arg: u8, op: SeccompCmpOp, value: u64) -> SeccompCondition {
    SeccompCondition::new(arg, SeccompCmpArgLen::Qword, op, value).expect("a valid condition")
}

fn dword(arg: u8, op: SeccompCmpOp, value: u64) -> SeccompCondition {
    SeccompCondition::new(arg, SeccompCmpArgLen::Dword, op, value).expect("a valid condition")
}

/// The main filter: EPERM for [`denied_syscalls`], for `clone` asking for namespaces, for
/// terminal input injection, and for sockets other than TCP/IP (none at all with network
/// isolation): a UNIX socket could reach a host daemon (Docker's, D-Bus, journald) by path.
fn main_filter(isolate_network: bool) -> Result<BpfProgram, String> {
    use nix::libc;
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = denied_syscalls()
        .into_iter()
        .map(|nr| (nr, Vec::new()))
        .collect();
    // clone's flags are its first argument on x86_64 and aarch64 alike: any namespace bit set
    // is refused (one rule per bit; rules of a syscall are alternatives).
    rules.insert(
        libc::SYS_clone,
        [
            libc::CLONE_NEWNS,
            libc::CLONE_NEWUSER,
            libc::CLONE_NEWPID,
            libc::CLONE_NEWNET,
            libc::CLONE_NEWIPC,
            libc::CLONE_NEWUTS,
            libc::CLONE_NEWCGROUP,
        ]
        .into_iter()
        .map(|flag| {
            let flag = flag as u64;
            SeccompRule::new(vec![condition(0, SeccompCmpOp::MaskedEq(flag), flag)])
                .map_err(|e| e.to_string())
        })
        .collect::<Result<_, _>>()?,
    );
    rules.insert(
        libc::SYS_ioctl,
        [libc::TIOCSTI, libc::TIOCLINUX]
            .into_iter()
            .map(|request| {
                // The request's type differs between architectures and C libraries.
                #[allow(clippy::unnecessary_cast)]
                let request = request as u64;
                SeccompRule::new(vec![dword(1, SeccompCmpOp::Eq, request)])
                    .map_err(|e| e.to_string())
            })
            .collect::<Result<_, _>>()?,
    );
    // Scheduling and limits of other processes: with the same uid (the slot's init, or the
    // runner and the forkserver where user namespaces are refused) a task could lower their
    // limits or priority and so break every later task. Only the task's own (pid 0) remain.
    let not_self = |args: &[u8]| -> Result<Vec<SeccompRule>, String> {
        args.iter()
            .map(|&arg| {
                SeccompRule::new(vec![condition(arg, SeccompCmpOp::Ne, 0)])
                    .map_err(|e| e.to_string())
            })
            .collect()
    };
    rules.insert(libc::SYS_prlimit64, not_self(&[0])?);
    // setpriority(which, who, prio): only PRIO_PROCESS (0) of itself (0).
    rules.insert(libc::SYS_setpriority, not_self(&[0, 1])?);
    for nr in [
        libc::SYS_sched_setaffinity,
        libc::SYS_sched_setscheduler,
        libc::SYS_sched_setparam,
        libc::SYS_sched_setattr,
    ] {
        rules.insert(nr, not_self(&[0])?);
    }
    // ioprio_set(which, who, prio): only IOPRIO_WHO_PROCESS (1) of itself (0).
    rules.insert(
        libc::SYS_ioprio_set,
        vec![
            SeccompRule::new(vec![condition(0, SeccompCmpOp::Ne, 1)]).map_err(|e| e.to_string())?,
            SeccompRule::new(vec![condition(1, SeccompCmpOp::Ne, 0)]).map_err(|e| e.to_string())?,
        ],
    );
    let socket_rule = if isolate_network {
        // No rule conditions: every socket() is refused.
        Vec::new()
    } else {
        vec![SeccompRule::new(vec![
            dword(0, SeccompCmpOp::Ne, libc::AF_INET as u64),
            dword(0, SeccompCmpOp::Ne, libc::AF_INET6 as u64),
        ])
        .map_err(|e| e.to_string())?]
    };
    rules.insert(libc::SYS_socket, socket_rule);
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        target_arch()?,
    )
    .map_err(|e| format!("seccomp: {e}"))?;
    filter.try_into().map_err(|e| format!("seccomp: {e}"))
}

/// The filter of a trial import (the forkserver tries a module in a confined child before it
/// imports the module itself): the child is killed (by SIGSYS, as the forkserver sees it) at
/// its first attempt to start a process or a thread, so a module that does either is never
/// warmed. Killed rather than refused: code that handles a refusal would pass the trial.
pub fn trial_program() -> Result<Vec<[u32; 4]>, String> {
    use nix::libc;
    let mut spawning = vec![
        libc::SYS_execve,
        libc::SYS_execveat,
        libc::SYS_clone,
        libc::SYS_clone3,
    ];
    #[cfg(target_arch = "x86_64")]
    spawning.extend([libc::SYS_fork, libc::SYS_vfork]);
    let rules: BTreeMap<i64, Vec<SeccompRule>> =
        spawning.into_iter().map(|nr| (nr, Vec::new())).collect();
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::KillProcess,
        target_arch()?,
    )
    .map_err(|e| format!("seccomp: {e}"))?;
    let program: BpfProgram = filter.try_into().map_err(|e| format!("seccomp: {e}"))?;
    Ok(program
        .iter()
        .map(|i| [i.code as u32, i.jt as u32, i.jf as u32, i.k])
        .collect())
}

// Classic BPF, as `struct sock_filter` spells it.
const BPF_LD_W_ABS: u32 = 0x20;
const BPF_JMP_JEQ_K: u32 = 0x15;
const BPF_JMP_JGE_K: u32 = 0x35;
const BPF_RET_K: u32 = 0x06;
const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
/// Offsets in `struct seccomp_data`.
const SECCOMP_DATA_NR: u32 = 0;
const SECCOMP_DATA_ARCH: u32 = 4;

/// The audit value seccomp reports for this architecture.
fn audit_arch() -> u32 {
    match std::env::consts::ARCH {
        "aarch64" => 0xc000_00b7,
        "riscv64" => 0xc000_00f3,
        _ => 0xc000_003e, // x86_64
    }
}

/// A few hand-written instructions run before the main filter, for the two answers it cannot
/// give (one seccompiler filter has one action on a match):
/// - `clone3` passes its flags in memory, where seccomp cannot look: ENOSYS makes glibc fall
///   back to `clone` (threads keep working), whose flags the main filter checks;
/// - on x86_64 the x32 ABI reaches the same kernel code under syscall numbers with bit 30 set,
///   which the main filter never names: EPERM for all of them.
///
/// Anything else falls through to the main filter, which loads what it needs again.
fn prefix(main_len: usize) -> Vec<[u32; 4]> {
    let x32 = cfg!(target_arch = "x86_64");
    let mut program = vec![[BPF_LD_W_ABS, 0, 0, SECCOMP_DATA_ARCH]];
    // Filled in below, once the prefix's length is known.
    program.push([BPF_JMP_JEQ_K, 0, 0, audit_arch()]);
    program.push([BPF_LD_W_ABS, 0, 0, SECCOMP_DATA_NR]);
    if x32 {
        program.push([BPF_JMP_JGE_K, 0, 0, 0x4000_0000]);
    }
    program.push([BPF_JMP_JEQ_K, 0, 0, nix::libc::SYS_clone3 as u32]);
    let eperm_at = program.len();
    program.push([BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | nix::libc::EPERM as u32]);
    let enosys_at = program.len();
    program.push([
        BPF_RET_K,
        0,
        0,
        SECCOMP_RET_ERRNO | nix::libc::ENOSYS as u32,
    ]);
    let main_at = program.len();
    // A jump's target is the next instruction plus its offset.
    let offset = |from: usize, to: usize| (to - from - 1) as u32;
    program[1][2] = offset(1, main_at); // another architecture: the main filter decides
    if x32 {
        program[3][1] = offset(3, eperm_at);
    }
    let clone3_at = if x32 { 4 } else { 3 };
    program[clone3_at][1] = offset(clone3_at, enosys_at);
    program[clone3_at][2] = offset(clone3_at, main_at);
    debug_assert!(
        main_len + program.len() <= 4096,
        "BPF programs hold 4096 instructions"
    );
    program
}

/// The one seccomp program a task child installs, as `[code, jt, jf, k]` instructions
/// (`struct sock_filter`).
pub fn seccomp_program(isolate_network: bool) -> Result<Vec<[u32; 4]>, String> {
    let main: Vec<[u32; 4]> = main_filter(isolate_network)?
        .iter()
        .map(|i| [i.code as u32, i.jt as u32, i.jf as u32, i.k])
        .collect();
    let mut program = prefix(main.len());
    program.extend(main);
    Ok(program)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_program_compiles_for_this_architecture() {
        for isolate in [false, true] {
            let program = seccomp_program(isolate).unwrap();
            assert!(program.len() > 50 && program.len() < 4096);
            // Every jump of the prefix lands inside the program.
            for (at, [code, jt, jf, _]) in program.iter().enumerate().take(8) {
                if code & 0x07 == 0x05 {
                    assert!(at + 1 + (*jt.max(jf) as usize) < program.len());
                }
            }
        }
    }

    #[test]
    fn the_mode_is_best_effort_unless_strict() {
        assert_eq!(Mode::parse(""), Some(Mode::BestEffort));
        assert_eq!(Mode::parse("best-effort"), Some(Mode::BestEffort));
        assert_eq!(Mode::parse("STRICT"), Some(Mode::Strict));
        assert_eq!(Mode::parse("on"), None);
    }

    #[test]
    fn the_start_up_line_names_every_layer() {
        let report = Report::complete_example();
        assert_eq!(
            report.line(),
            "Sandbox: landlock v7 on, seccomp on, namespaces user+pid+mount on, network \
             isolation off, capabilities none, task uid 65534"
        );
        assert!(report.missing(false).is_empty());
        let bare = Report {
            network_isolation: "unavailable".into(),
            ..Report::default()
        };
        assert_eq!(
            bare.missing(true),
            ["landlock", "seccomp", "namespaces", "network isolation"]
        );
    }
}
