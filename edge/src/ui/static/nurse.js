// Nurse alarm screen: live over Server-Sent Events from /api/live. When the link drops or the
// heartbeat stops, the whole screen greys out behind a red banner at once: old data never looks live.
import { AlarmAudio, soundingPriority } from './audio.js';
import { clockText } from './format.js';
import { AlarmList } from './nurse-alarms.js';
import { BedGrid } from './nurse-beds.js';
import { PinDialog } from './pin-dialog.js';

/** No event for this long means the gateway or the network is gone. */
const HEARTBEAT_TIMEOUT_MS = 5000;
const RECONNECT_MS = 2000;
const GIVE_UP_ATTEMPT_MS = 10_000;

const state = {
  snapshot: null,
  /** Gateway clock minus the browser's, from the last snapshot. */
  offset: 0,
  lastEventAt: 0,
  live: false,
  openedAt: Date.now(),
  attemptAt: 0,
  /** @type {EventSource | null} */
  source: null,
};

const body = document.body;
const banner = document.getElementById('connection-banner');
const linkState = document.getElementById('link-state');
const clock = document.getElementById('clock');
const soundToggle = document.getElementById('sound-toggle');
const alarmCount = document.getElementById('alarm-count');
const noAlarms = document.getElementById('no-alarms');

const audio = new AlarmAudio();
const dialog = new PinDialog();
const alarmList = new AlarmList(document.getElementById('alarm-list'), (action, alarm) => {
  const verb = action === 'ack' ? 'Acknowledge' : 'Silence';
  dialog.open({
    title: `${verb} alarm`,
    subject: `${alarm.bedId} — ${alarm.message}`,
    url: `/api/alarms/${encodeURIComponent(alarm.alarmId)}/${action}`,
  });
});
const bedGrid = new BedGrid(document.getElementById('bed-grid'), (bedId) => {
  dialog.open({
    title: 'Silence bed',
    subject: `Pause the audio of every alarm of ${bedId}`,
    url: `/api/beds/${encodeURIComponent(bedId)}/silence`,
  });
});

const gatewayNow = () => Date.now() + state.offset;

function connect() {
  state.source?.close();
  const source = new EventSource('/api/live');
  state.source = source;
  state.attemptAt = Date.now();
  source.addEventListener('snapshot', (event) => {
    if (source !== state.source) return;
    let snapshot;
    try {
      snapshot = JSON.parse(event.data);
    } catch {
      lost('bad data from gateway');
      return;
    }
    state.snapshot = snapshot;
    state.offset = snapshot.time - Date.now();
    state.lastEventAt = Date.now();
    setLive(true);
    render();
  });
  source.addEventListener('heartbeat', () => {
    if (source === state.source && state.live) state.lastEventAt = Date.now();
  });
  source.addEventListener('error', () => {
    if (source !== state.source) return;
    lost('link error');
    // EventSource retries by itself unless it gave up (CLOSED): then start over.
    if (source.readyState === EventSource.CLOSED) setTimeout(connect, RECONNECT_MS);
  });
}

function lost(reason) {
  setLive(false, reason);
}

function setLive(live, reason = '') {
  state.live = live;
  body.classList.toggle('stale', !live);
  body.classList.toggle('disconnected', !live);
  banner.setAttribute('aria-hidden', live ? 'true' : 'false');
  linkState.textContent = live ? 'LIVE' : `NOT LIVE${reason ? ` (${reason})` : ''}`;
  linkState.className = `link-state ${live ? 'live' : 'lost'}`;
  updateAudio();
}

/** Runs every 250 ms: the dead-link check must not wait for an event that never comes. */
function watchdog() {
  const now = Date.now();
  if (state.live && now - state.lastEventAt > HEARTBEAT_TIMEOUT_MS) {
    lost('no heartbeat');
    connect();
    return;
  }
  if (state.live) return;
  if (!body.classList.contains('disconnected') && now - state.openedAt > HEARTBEAT_TIMEOUT_MS)
    lost('no answer');
  // A connection attempt that hangs (no error, no data) is restarted.
  if (now - state.attemptAt > GIVE_UP_ATTEMPT_MS) connect();
}

function render() {
  const snapshot = state.snapshot;
  const now = gatewayNow();
  clock.textContent = clockText(now);
  if (!snapshot) return;
  document.getElementById('gateway-id').textContent = snapshot.gatewayId;
  alarmList.render(snapshot.alarms, snapshot.staffNames ?? {}, now);
  bedGrid.render(snapshot.beds, snapshot.alarms, now);
  alarmCount.textContent = String(snapshot.alarms.length);
  noAlarms.hidden = snapshot.alarms.length > 0;
  updateAudio();
}

function updateAudio() {
  let priority = null;
  // A lost link is itself an alarm condition: the screen can no longer show alarms.
  if (!state.live) priority = body.classList.contains('disconnected') ? 'medium' : null;
  else if (state.snapshot) priority = soundingPriority(state.snapshot.alarms, gatewayNow());
  audio.play(priority);
  soundToggle.textContent = audio.enabled ? 'Sound on' : 'Enable sound';
  soundToggle.className = `sound-toggle ${audio.enabled ? 'on' : 'off'}`;
}

soundToggle.addEventListener('click', () => {
  audio.enable().catch(() => {
    soundToggle.textContent = 'Sound unavailable';
  });
});
audio.onStateChange = updateAudio;

connect();
setInterval(watchdog, 250);
// Ages, countdowns and staleness move even when no data arrives.
setInterval(render, 1000);
render();
