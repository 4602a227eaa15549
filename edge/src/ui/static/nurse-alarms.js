// The alarm list of the nurse screen: priority then time, IEC 60601-1-8 colours, state tags.
import { ageText, el, mmss, setAttr, setText } from './format.js';

const RANK = { high: 3, medium: 2, low: 1 };
/** IEC 60601-1-8 marks priority with !!!, !!, ! as well as colour. */
const PRIORITY_TEXT = { high: '!!! HIGH', medium: '!! MED', low: '! LOW' };

/** Highest priority first; within a priority the newest first. */
export function sortAlarms(alarms) {
  return [...alarms].sort((a, b) => RANK[b.priority] - RANK[a.priority] || b.raisedAt - a.raisedAt);
}

export class AlarmList {
  /**
   * @param {HTMLElement} root
   * @param {(action: 'ack' | 'silence', alarm: any) => void} onAction
   */
  constructor(root, onAction) {
    this.root = root;
    this.onAction = onAction;
    this.items = new Map();
  }

  /**
   * @param {any[]} alarms ActiveAlarm[]
   * @param {Record<string, string>} staffNames badge → display name
   * @param {number} now gateway time
   */
  render(alarms, staffNames, now) {
    const seen = new Set();
    sortAlarms(alarms).forEach((alarm, index) => {
      seen.add(alarm.alarmId);
      let item = this.items.get(alarm.alarmId);
      if (!item) {
        item = this.createItem(alarm.alarmId);
        this.items.set(alarm.alarmId, item);
      }
      item.alarm = alarm;
      this.updateItem(item, alarm, staffNames, now);
      // Moving a node restarts its flashing, so only move what is out of place.
      if (this.root.children[index] !== item.node)
        this.root.insertBefore(item.node, this.root.children[index] ?? null);
    });
    for (const [id, item] of this.items)
      if (!seen.has(id)) {
        item.node.remove();
        this.items.delete(id);
      }
  }

  createItem(alarmId) {
    const priority = el('span', { class: 'alarm-priority' });
    const tech = el('span', { class: 'tag tag-tech', text: '⚙ TECH' });
    const bed = el('span', { class: 'alarm-bed' });
    const age = el('span', { class: 'alarm-age' });
    const tags = el('span', { class: 'alarm-tags' });
    const message = el('div', { class: 'alarm-message' });
    const ack = el('button', {
      type: 'button',
      'data-testid': `alarm-ack-${alarmId}`,
      text: 'Acknowledge',
    });
    const silence = el('button', {
      type: 'button',
      'data-testid': `alarm-silence-${alarmId}`,
      text: 'Silence',
    });
    const node = el('li', { class: 'alarm', 'data-testid': `alarm-${alarmId}` }, [
      el('div', { class: 'alarm-head' }, [priority, tech, bed, age]),
      tags,
      message,
      el('div', { class: 'alarm-actions' }, [ack, silence]),
    ]);
    const item = { node, priority, tech, bed, age, tags, message, ack, silence, alarm: null };
    ack.addEventListener('click', () => this.onAction('ack', item.alarm));
    silence.addEventListener('click', () => this.onAction('silence', item.alarm));
    // All flashing alarms blink in phase, whenever they appeared.
    node.style.animationDelay = `-${Math.round(performance.now() % 1600)}ms`;
    return item;
  }

  updateItem(item, alarm, staffNames, now) {
    const { node } = item;
    setAttr(node, 'data-priority', alarm.priority);
    setAttr(node, 'data-state', alarm.state);
    setAttr(node, 'data-kind', alarm.kind);
    setAttr(node, 'data-acked-by', alarm.acknowledged ? alarm.acknowledged.by : '');
    setAttr(node, 'data-escalated', alarm.escalated ? 'true' : 'false');
    const silenced = alarm.silencedUntil !== null && alarm.silencedUntil > now;
    setAttr(node, 'data-silenced', silenced ? 'true' : 'false');

    setText(item.priority, PRIORITY_TEXT[alarm.priority] ?? alarm.priority);
    item.tech.hidden = alarm.kind !== 'technical';
    setText(item.bed, alarm.bedId === 'gateway' ? 'Gateway' : `${alarm.bedId} · ${alarm.deviceId}`);
    setText(item.age, `${ageText(now - alarm.raisedAt)} ago`);
    setText(item.message, alarm.message);

    const name = (badge) => staffNames[badge] ?? badge;
    const tagList = [];
    if (alarm.state === 'latched') tagList.push(['tag-latched', 'latched']);
    if (alarm.acknowledged) tagList.push(['tag-ack', `ack by ${name(alarm.acknowledged.by)}`]);
    if (silenced) tagList.push(['tag-silenced', `audio paused ${mmss(alarm.silencedUntil - now)}`]);
    if (alarm.escalated) tagList.push(['tag-escalated', 'escalated']);
    const key = tagList.map((t) => t[1]).join('|');
    if (item.tags.dataset.key !== key) {
      item.tags.dataset.key = key;
      item.tags.replaceChildren(
        ...tagList.map(([cls, text]) => el('span', { class: `tag ${cls}`, text })),
      );
    }
    item.ack.disabled = alarm.acknowledged !== null;
  }
}
