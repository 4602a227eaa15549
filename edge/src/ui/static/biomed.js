// Biomed page: every device's link and counters, and the gateway's health, polled every 2 s.
// A failed or hung poll greys the page behind the red banner at once.
import { ageText, byNatural, bytesText, clockText, el } from './format.js';

const REFRESH_MS = 2000;
/** A poll that has not answered by then counts as failed. */
const TIMEOUT_MS = 4000;

const body = document.body;
const linkState = document.getElementById('link-state');
const devicesBody = document.getElementById('devices-body');
const health = document.getElementById('health');
const backlogBody = document.getElementById('backlog-body');

function setLive(live, reason = '') {
  body.classList.toggle('stale', !live);
  body.classList.toggle('disconnected', !live);
  linkState.textContent = live ? 'LIVE' : `NOT LIVE${reason ? ` (${reason})` : ''}`;
  linkState.className = `link-state ${live ? 'live' : 'lost'}`;
}

async function refresh() {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), TIMEOUT_MS);
  try {
    const response = await fetch('/api/biomed', { signal: abort.signal, cache: 'no-store' });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const data = await response.json();
    render(data);
    setLive(true);
  } catch (error) {
    setLive(false, error.name === 'AbortError' ? 'timeout' : 'unreachable');
  } finally {
    clearTimeout(timer);
    setTimeout(refresh, REFRESH_MS);
  }
}

function render(data) {
  const now = data.time;
  document.getElementById('gateway-id').textContent = data.gatewayId;
  document.getElementById('clock').textContent = clockText(now);
  const devices = [...data.devices].sort((a, b) => byNatural(a.deviceId, b.deviceId));
  devicesBody.replaceChildren(...devices.map((d) => deviceRow(d, now)));
  renderHealth(data.health, now);
}

function deviceRow(d, now) {
  const cell = (text, cls = '') => el('td', { class: cls, text: String(text) });
  return el('tr', { 'data-testid': `device-row-${d.deviceId}`, 'data-state': d.state }, [
    cell(d.deviceId),
    cell(d.kind),
    cell(d.bedId ?? '—'),
    cell(d.state, `state state-${d.state}`),
    cell(d.lastContact ? `${ageText(now - d.lastContact)} ago` : 'never'),
    cell(d.messagesPerSecond === null ? '—' : d.messagesPerSecond.toFixed(2), 'num'),
    cell(d.messages, 'num'),
    cell(d.errors, 'num'),
    cell(d.connectAttempts, 'num'),
    cell(d.lastError ?? '', 'last-error'),
    cell(d.detail, 'detail'),
  ]);
}

function renderHealth(h, now) {
  const diskFree = h.disk.totalBytes ? h.disk.freeBytes / h.disk.totalBytes : 1;
  const sysFree = h.memory.systemTotalBytes
    ? h.memory.systemFreeBytes / h.memory.systemTotalBytes
    : 1;
  const skew = h.clock.skewMs;
  const items = [
    [
      'Cloud link',
      h.cloud.connected
        ? 'connected'
        : `down${h.cloud.lastConnectedAt ? ` (last up ${ageText(now - h.cloud.lastConnectedAt)} ago)` : ''}`,
      h.cloud.connected ? '' : 'bad',
    ],
    ['Cloud last error', h.cloud.lastError ?? 'none', h.cloud.lastError ? 'warn' : ''],
    [
      `Disk free (${h.disk.path})`,
      `${bytesText(h.disk.freeBytes)} of ${bytesText(h.disk.totalBytes)}`,
      diskFree < 0.1 ? 'bad' : '',
    ],
    [
      'Memory (RSS / heap)',
      `${bytesText(h.memory.rssBytes)} / ${bytesText(h.memory.heapUsedBytes)}`,
      '',
    ],
    [
      'System memory free',
      `${bytesText(h.memory.systemFreeBytes)} of ${bytesText(h.memory.systemTotalBytes)}`,
      sysFree < 0.1 ? 'warn' : '',
    ],
    ['Gateway clock', new Date(h.clock.now).toLocaleString([], { hour12: false }), ''],
    [
      'Clock skew vs cloud',
      skew === null ? 'unknown' : `${skew > 0 ? '+' : ''}${(skew / 1000).toFixed(1)} s`,
      skew !== null && Math.abs(skew) > 5000 ? 'bad' : '',
    ],
    ['Uptime', ageText(h.uptimeSeconds * 1000), ''],
  ];
  health.replaceChildren(
    ...items.map(([label, value, cls]) =>
      el('div', { class: `health-item ${cls}` }, [
        el('div', { class: 'label', text: label }),
        el('div', { class: 'value', text: value }),
      ]),
    ),
  );
  backlogBody.replaceChildren(
    ...Object.entries(h.cloud.backlog).map(([stream, b]) =>
      el('tr', { 'data-testid': `backlog-${stream}` }, [
        el('td', { text: stream }),
        el('td', { class: 'num', text: String(b.lastSeq) }),
        el('td', { class: 'num', text: String(b.ackedUpTo) }),
        el('td', { class: 'num', text: String(b.lastSeq - b.ackedUpTo) }),
        el('td', { text: b.ackedAt ? `${ageText(now - b.ackedAt)} ago` : 'never' }),
      ]),
    ),
  );
}

refresh();
