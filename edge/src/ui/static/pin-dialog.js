// Badge + PIN dialog for acknowledge and silence, with a touch keypad. The server checks the pair.

export class PinDialog {
  constructor() {
    this.dialog = /** @type {HTMLDialogElement} */ (document.getElementById('pin-dialog'));
    this.form = document.getElementById('pin-form');
    this.title = document.getElementById('pin-title');
    this.subject = document.getElementById('pin-subject');
    this.badge = /** @type {HTMLInputElement} */ (document.getElementById('pin-badge'));
    this.pin = /** @type {HTMLInputElement} */ (document.getElementById('pin-pin'));
    this.error = document.getElementById('pin-error');
    this.submit = /** @type {HTMLButtonElement} */ (document.getElementById('pin-submit'));
    /** The field the keypad types into. */
    this.target = this.pin;
    this.request = null;

    for (const input of [this.badge, this.pin])
      input.addEventListener('focus', () => {
        this.target = input;
      });
    this.buildKeypad(document.getElementById('keypad'));
    document.getElementById('pin-cancel').addEventListener('click', () => this.close());
    this.dialog.addEventListener('close', () => this.reset());
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.send();
    });
  }

  buildKeypad(pad) {
    const keys = ['1', '2', '3', '4', '5', '6', '7', '8', '9', 'Clear', '0', '⌫'];
    for (const key of keys) {
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = key;
      button.dataset.testid = `keypad-${key === '⌫' ? 'back' : key.toLowerCase()}`;
      button.addEventListener('click', () => {
        const input = this.target;
        if (key === 'Clear') input.value = '';
        else if (key === '⌫') input.value = input.value.slice(0, -1);
        else input.value += key;
        input.focus();
      });
      pad.append(button);
    }
  }

  /**
   * @param {{title: string, subject: string, url: string}} request
   */
  open(request) {
    this.request = request;
    this.title.textContent = request.title;
    this.subject.textContent = request.subject;
    this.error.textContent = '';
    if (!this.dialog.open) this.dialog.showModal();
    this.badge.focus();
  }

  close() {
    if (this.dialog.open) this.dialog.close();
  }

  reset() {
    this.badge.value = '';
    this.pin.value = '';
    this.error.textContent = '';
    this.submit.disabled = false;
    this.request = null;
  }

  async send() {
    if (!this.request) return;
    const badge = this.badge.value.trim();
    const pin = this.pin.value;
    if (!badge || !pin) {
      this.error.textContent = 'Enter your badge and PIN';
      return;
    }
    this.submit.disabled = true;
    this.error.textContent = '';
    try {
      const response = await fetch(this.request.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ badge, pin }),
      });
      const body = await response.json().catch(() => ({}));
      if (response.ok) {
        this.close();
        return;
      }
      this.error.textContent = body.error ?? `refused (${response.status})`;
      this.pin.value = '';
      this.pin.focus();
    } catch {
      this.error.textContent = 'Gateway unreachable — not done, try again';
    } finally {
      this.submit.disabled = false;
    }
  }
}
