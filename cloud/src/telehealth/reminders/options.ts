/** Appointment reminders: e-mail over SMTP, SMS through an HTTP provider. */
export interface ReminderOptions {
  /** smtp://host:port (or smtps://) of the mail relay, and the From address. */
  smtp?: { url: string; from: string };
  /** The SMS provider's HTTP API. */
  sms?: { url: string; apiKey: string; from: string };
}
