import { type ChildProcess, spawn as spawnProcess } from 'node:child_process';

/**
 * sd_notify for Node. Node has no unix datagram sockets, so each message is sent by running
 * `systemd-notify --pid=<our pid> ASSIGNMENT...`. That helper is a different process, so the unit
 * must say NotifyAccess=all (NotifyAccess=main would drop its messages); --pid adds MAINPID= so
 * systemd keeps tracking this process as the main one. Without NOTIFY_SOCKET (not started by
 * systemd, or not Type=notify) every call is a no-op and nothing is spawned.
 */

export type NotifyLogger = (level: 'info' | 'warn' | 'error', message: string) => void;

export interface SystemdNotifyOptions {
  log?: NotifyLogger;
  /** The environment to read NOTIFY_SOCKET / WATCHDOG_USEC / WATCHDOG_PID from and pass on. */
  env?: NodeJS.ProcessEnv;
  /** The helper to run; found on PATH by default. */
  command?: string;
  /** Injected in tests to observe spawning. */
  spawn?: (command: string, args: string[], options: { env: NodeJS.ProcessEnv }) => ChildProcess;
}

export interface SystemdNotifier {
  /** True when NOTIFY_SOCKET is set, i.e. messages are actually sent. */
  readonly enabled: boolean;
  /** Ping period (half of WATCHDOG_USEC), or undefined when systemd wants no pings from us. */
  readonly watchdogIntervalMs: number | undefined;
  /** Whether watchdog pings are currently scheduled. */
  readonly watchdogRunning: boolean;
  /** Messages that could not be delivered (helper missing or exited non-zero). */
  readonly failures: number;
  /** READY=1 (plus an optional STATUS=), then starts the watchdog pings. */
  ready(status?: string): void;
  /** STOPPING=1 and stops the pings: systemd now waits for the exit instead of the watchdog. */
  stopping(): void;
  /** Stops the pings without telling systemd anything. */
  stop(): void;
}

/**
 * Half of WATCHDOG_USEC in milliseconds, as sd_watchdog_enabled() prescribes; undefined when no
 * watchdog is configured or WATCHDOG_PID names another process. A malformed value is an Error.
 */
export function watchdogIntervalFromEnv(
  env: NodeJS.ProcessEnv,
  pid: number = process.pid,
): number | undefined {
  const usec = env.WATCHDOG_USEC;
  if (usec === undefined || usec === '') return undefined;
  if (!/^\d+$/.test(usec) || Number(usec) === 0)
    throw new Error(`WATCHDOG_USEC must be a positive integer of microseconds, got "${usec}"`);
  const watchdogPid = env.WATCHDOG_PID;
  if (watchdogPid !== undefined && watchdogPid !== '') {
    if (!/^\d+$/.test(watchdogPid))
      throw new Error(`WATCHDOG_PID must be a process id, got "${watchdogPid}"`);
    if (Number(watchdogPid) !== pid) return undefined;
  }
  return Math.max(1, Math.floor(Number(usec) / 2000));
}

export function startSystemdNotify(options: SystemdNotifyOptions = {}): SystemdNotifier {
  const env = options.env ?? process.env;
  const log: NotifyLogger = options.log ?? (() => {});
  const command = options.command ?? 'systemd-notify';
  const spawn =
    options.spawn ??
    ((cmd: string, args: string[], spawnOptions: { env: NodeJS.ProcessEnv }) =>
      spawnProcess(cmd, args, { env: spawnOptions.env, stdio: 'ignore' }));
  const enabled = Boolean(env.NOTIFY_SOCKET);

  let intervalMs: number | undefined;
  if (enabled) {
    try {
      intervalMs = watchdogIntervalFromEnv(env);
    } catch (error) {
      log('warn', `systemd watchdog disabled: ${(error as Error).message}`);
    }
  }

  let timer: NodeJS.Timeout | undefined;
  let failures = 0;
  let pingInFlight = false;

  const fail = (assignments: string[], why: string) => {
    failures += 1;
    log('warn', `systemd-notify ${assignments.join(' ')} failed: ${why}`);
  };

  const send = (assignments: string[], onDone?: () => void) => {
    if (!enabled) return;
    let child: ChildProcess;
    try {
      child = spawn(command, [`--pid=${process.pid}`, ...assignments], { env });
    } catch (error) {
      fail(assignments, (error as Error).message);
      onDone?.();
      return;
    }
    child.once('error', (error) => {
      fail(assignments, error.message);
      onDone?.();
    });
    child.once('exit', (code, signal) => {
      if (code !== 0) fail(assignments, signal ? `killed by ${signal}` : `exit code ${code}`);
      onDone?.();
    });
  };

  const ping = () => {
    // A ping still running means the helper is stuck; piling more up would not help.
    if (pingInFlight) return;
    pingInFlight = true;
    send(['WATCHDOG=1'], () => {
      pingInFlight = false;
    });
  };

  const stop = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
  };

  return {
    enabled,
    watchdogIntervalMs: intervalMs,
    get watchdogRunning() {
      return timer !== undefined;
    },
    get failures() {
      return failures;
    },
    ready(status?: string) {
      if (!enabled) return;
      send(status ? ['READY=1', `STATUS=${status}`] : ['READY=1']);
      if (intervalMs !== undefined && !timer) {
        timer = setInterval(ping, intervalMs);
        // The pings must not keep a process alive that is otherwise done.
        timer.unref();
        log('info', `systemd watchdog: pinging every ${intervalMs} ms`);
      }
    },
    stopping() {
      if (!enabled) return;
      stop();
      send(['STOPPING=1']);
    },
    stop,
  };
}
