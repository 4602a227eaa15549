// Bed tiles of the nurse screen: live vitals with units, staleness, device link dots.
import { ageText, byNatural, el, setAttr, setText, unitText } from './format.js';

/** A value older than this is shown dimmed with its age, never as live. */
export const STALE_VALUE_MS = 30_000;

const RANK = { high: 3, medium: 2, low: 1 };

/** The five vitals every tile shows, and how each is read from the vitals map. */
const VITALS = [
  { key: 'HR', label: 'HR', read: heartRate },
  { key: 'SpO2', label: 'SpO2', read: (v) => single(v, 'MDC_PULS_OXIM_SAT_O2', 0) },
  { key: 'RR', label: 'RR', read: (v) => single(v, 'MDC_RESP_RATE', 0) },
  { key: 'NIBP', label: 'NIBP', read: bloodPressure },
  { key: 'Temp', label: 'Temp', read: (v) => single(v, 'MDC_TEMP_BODY', 1) },
];

function single(vitals, mdc, decimals, label) {
  const v = vitals[mdc];
  if (!v) return null;
  return { text: v.value.toFixed(decimals), unit: unitText(v.unit), time: v.time, label };
}

/** ECG heart rate, or the oximeter's pulse rate when the ECG one is missing or stale. */
function heartRate(vitals, now) {
  const ecg = vitals.MDC_ECG_HEART_RATE;
  const pulse = vitals.MDC_PULS_OXIM_PULS_RATE;
  const fresh = (v) => v && now - v.time <= STALE_VALUE_MS;
  if (fresh(ecg) || (ecg && !pulse)) return single(vitals, 'MDC_ECG_HEART_RATE', 0);
  if (pulse && (!ecg || pulse.time > ecg.time))
    return single(vitals, 'MDC_PULS_OXIM_PULS_RATE', 0, 'HR (pulse)');
  return single(vitals, 'MDC_ECG_HEART_RATE', 0);
}

function bloodPressure(vitals) {
  const sys = vitals.MDC_PRESS_BLD_NONINV_SYS;
  const dia = vitals.MDC_PRESS_BLD_NONINV_DIA;
  const mean = vitals.MDC_PRESS_BLD_NONINV_MEAN;
  if (!sys && !dia && !mean) return null;
  const n = (v) => (v ? v.value.toFixed(0) : '—');
  const times = [sys, dia, mean].filter(Boolean).map((v) => v.time);
  return {
    text: `${n(sys)}/${n(dia)}`,
    sub: mean ? `(${n(mean)})` : '',
    unit: unitText((sys ?? dia ?? mean).unit),
    // A reading is as old as its oldest part.
    time: Math.min(...times),
  };
}

export class BedGrid {
  /** @param {HTMLElement} root */
  constructor(root, onSilenceBed) {
    this.root = root;
    this.onSilenceBed = onSilenceBed;
    /** @type {Map<string, ReturnType<BedGrid['createTile']>>} */
    this.tiles = new Map();
  }

  /**
   * @param {{bedId: string, displayName: string | null, devices: any[], vitals: Record<string, any>}[]} beds
   * @param {{bedId: string, priority: string}[]} alarms
   * @param {number} now gateway time
   */
  render(beds, alarms, now) {
    const worst = new Map();
    for (const a of alarms)
      if (!worst.has(a.bedId) || RANK[a.priority] > RANK[worst.get(a.bedId)])
        worst.set(a.bedId, a.priority);
    const sorted = [...beds].sort((a, b) => byNatural(a.bedId, b.bedId));
    const seen = new Set();
    sorted.forEach((bed, index) => {
      seen.add(bed.bedId);
      let tile = this.tiles.get(bed.bedId);
      if (!tile) {
        tile = this.createTile(bed.bedId);
        this.tiles.set(bed.bedId, tile);
      }
      this.updateTile(tile, bed, worst.get(bed.bedId) ?? null, now);
      if (this.root.children[index] !== tile.node)
        this.root.insertBefore(tile.node, this.root.children[index] ?? null);
    });
    for (const [bedId, tile] of this.tiles)
      if (!seen.has(bedId)) {
        tile.node.remove();
        this.tiles.delete(bedId);
      }
  }

  createTile(bedId) {
    const name = el('span', { class: 'bed-name' });
    const vitals = new Map();
    const vitalsBox = el('div', { class: 'vitals' });
    for (const vital of VITALS) {
      const label = el('span', { class: 'vital-label', text: vital.label });
      const value = el('span', { class: 'vital-value' });
      const sub = el('span', { class: 'vital-sub' });
      const unit = el('span', { class: 'vital-unit' });
      const age = el('span', { class: 'vital-age' });
      const node = el(
        'div',
        {
          class: `vital ${vital.key.toLowerCase()}`,
          'data-testid': `vital-${bedId}-${vital.key}`,
        },
        [label, el('span', { class: 'vital-reading' }, [value, sub, unit]), age],
      );
      vitals.set(vital.key, { node, label, value, sub, unit, age });
      vitalsBox.append(node);
    }
    const devices = el('div', { class: 'devices' });
    const silence = el('button', {
      type: 'button',
      class: 'secondary',
      'data-testid': `bed-silence-${bedId}`,
      text: 'Silence bed',
    });
    silence.addEventListener('click', () => this.onSilenceBed(bedId));
    const node = el('article', { class: 'bed-tile', 'data-testid': `bed-tile-${bedId}` }, [
      el('div', { class: 'bed-head' }, [el('span', { class: 'bed-id', text: bedId }), name]),
      vitalsBox,
      devices,
      el('div', { class: 'bed-actions' }, [silence]),
    ]);
    return { node, name, vitals, devices, silence, deviceKey: '' };
  }

  updateTile(tile, bed, priority, now) {
    setText(tile.name, bed.displayName ?? 'empty bed');
    tile.name.classList.toggle('empty', bed.displayName === null);
    for (const p of ['high', 'medium', 'low'])
      tile.node.classList.toggle(`alarm-${p}`, priority === p);
    setAttr(tile.node, 'data-alarm', priority ?? '');
    tile.silence.hidden = priority === null;

    for (const vital of VITALS) {
      const view = tile.vitals.get(vital.key);
      const reading = vital.read(bed.vitals, now);
      const age = reading ? now - reading.time : null;
      const stale = age !== null && age > STALE_VALUE_MS;
      setText(view.label, reading?.label ?? vital.label);
      setText(view.value, reading ? reading.text : '—');
      setText(view.sub, reading?.sub ?? '');
      setText(view.unit, reading ? reading.unit : '');
      setText(view.age, stale ? `${ageText(age)} ago` : '');
      view.node.classList.toggle('stale', stale);
      view.node.classList.toggle('none', reading === null);
      setAttr(view.node, 'data-stale', stale ? 'true' : 'false');
      setAttr(
        view.node,
        'data-value',
        reading ? `${reading.text}${reading.sub ? ` ${reading.sub}` : ''}` : '',
      );
    }

    // Device dots carry no buttons, so rebuilding them when something changed is safe.
    const key = JSON.stringify(
      bed.devices.map((d) => [
        d.deviceId,
        d.kind,
        d.state,
        d.lastContact && Math.floor((now - d.lastContact) / 5000),
      ]),
    );
    if (key === tile.deviceKey) return;
    tile.deviceKey = key;
    tile.devices.replaceChildren(
      ...bed.devices.map((d) =>
        el(
          'span',
          {
            class: 'device',
            'data-state': d.state,
            'data-testid': `device-${d.deviceId}`,
            title: `${d.deviceId} (${d.kind}): ${d.state}${
              d.lastContact
                ? `, last contact ${ageText(now - d.lastContact)} ago`
                : ', never contacted'
            }`,
          },
          [el('span', { class: 'dot' }), `${d.kind} ${d.state}`],
        ),
      ),
    );
  }
}
