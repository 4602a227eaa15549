import type { WebSocket } from 'ws';
import type { AuditAction, AuditLog } from '../../audit/audit-entry.ts';
import type { RequestSource, UserPrincipal } from '../../auth/principal.ts';
import { errorForLog } from '../../crypto/log-redaction.ts';
import type { Db } from '../../db/database.ts';
import { setAppointmentStatus } from '../appointments/status.ts';
import { loadVisit, type VisitRole } from '../appointments/visit.ts';
import { MAX_CHAT_CHARS, storeChatMessage } from './chat.ts';
import { hasVideoEvent, recordVideoEvent, type VideoEventKind } from './room-events.ts';
import type { RoomClaims } from './room-token.ts';

/** One connected participant. */
export interface Peer {
  ws: WebSocket;
  claims: RoomClaims;
  actor: UserPrincipal;
  source: RequestSource;
}

export interface RoomOptions {
  now: () => number;
  log: (message: string) => void;
  audit: AuditLog;
}

/** A message a participant sends (JSON text over the socket). */
type Incoming = { type?: unknown; [key: string]: unknown };

/** Refused message: told to its sender as `{type: 'error', code, message}`. */
class RoomError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * The video room of one appointment, while someone is in it: at most one host and one patient
 * connection (a newer one replaces the older), the waiting room, and what may be relayed. Work
 * is done one message at a time, in arrival order, so the records and what each side is told
 * never interleave.
 */
export class Room {
  readonly appointmentId: string;
  private readonly patientId: string;
  private readonly db: Db;
  private readonly options: RoomOptions;
  private host: Peer | undefined;
  private patient: Peer | undefined;
  /** The patient currently connected has been let in (reset when either side leaves). */
  private admitted = false;
  private ended = false;
  private readonly departed = new WeakSet<Peer>();
  private queue: Promise<void> = Promise.resolve();

  constructor(db: Db, appointmentId: string, patientId: string, options: RoomOptions) {
    this.db = db;
    this.appointmentId = appointmentId;
    this.patientId = patientId;
    this.options = options;
  }

  /** Open sockets in this room (kept by the signaling server). */
  connections = 0;

  /** Resolves when everything received so far has been handled. */
  settled(): Promise<void> {
    return this.queue;
  }

  tell(peer: Peer | undefined, message: object): void {
    if (peer && peer.ws.readyState === peer.ws.OPEN) peer.ws.send(JSON.stringify(message));
  }

  join(peer: Peer): Promise<void> {
    return this.enqueue(peer, async () => {
      const role = peer.claims.role;
      const previous = this.peerOf(role);
      if (previous) {
        await this.depart(previous);
        previous.ws.close(4001, 'replaced by a newer connection');
      }
      this.setPeer(role, peer);
      await this.record(peer, 'joined');
      await this.audit(
        peer,
        'read',
        `Appointment/${this.appointmentId}/video-room`,
        `joined as ${role}`,
      );
      this.tell(peer, {
        type: 'hello',
        appointmentId: this.appointmentId,
        role,
        recordingConsent: await hasVideoEvent(this.db, this.appointmentId, 'recording-consent'),
      });
      if (role === 'patient') await this.startWaiting();
      else if (this.patient) this.tell(peer, { type: 'patient-waiting' });
    });
  }

  leave(peer: Peer): Promise<void> {
    return this.enqueue(undefined, () => this.depart(peer));
  }

  receive(peer: Peer, text: string): Promise<void> {
    return this.enqueue(peer, async () => {
      if (this.departed.has(peer)) return;
      let message: Incoming;
      try {
        message = JSON.parse(text);
      } catch {
        throw new RoomError('bad_message', 'Messages are JSON objects');
      }
      if (!message || typeof message !== 'object')
        throw new RoomError('bad_message', 'Messages are JSON objects');
      switch (message.type) {
        case 'admit':
          return this.admit(peer);
        case 'signal':
          return this.relaySignal(peer, message.data);
        case 'chat':
          return this.chat(peer, message.body);
        case 'recording-consent':
          return this.consent(peer);
        case 'recording':
          return this.recording(peer, message.state);
        case 'end':
          return this.end(peer);
        default:
          throw new RoomError(
            'bad_message',
            `Unknown message type ${JSON.stringify(message.type)}`,
          );
      }
    });
  }

  private async admit(peer: Peer) {
    this.requireRole(peer, 'host', 'Only the clinician admits the patient');
    if (!this.patient || this.admitted)
      throw new RoomError('no_patient_waiting', 'Nobody is in the waiting room');
    await this.record(peer, 'admitted');
    const visit = await loadVisit(this.db, this.appointmentId);
    if (visit?.status === 'scheduled')
      await setAppointmentStatus(this.db, this.appointmentId, 'in-progress', this.options.now());
    await this.audit(
      peer,
      'update',
      `Appointment/${this.appointmentId}`,
      'admitted the patient to the video visit',
    );
    this.admitted = true;
    // The host's browser makes the offer; the patient's answers.
    this.tell(this.host, { type: 'admitted', initiator: true });
    this.tell(this.patient, { type: 'admitted', initiator: false });
  }

  private relaySignal(peer: Peer, data: unknown) {
    this.requireAdmitted();
    if (!isSignal(data))
      throw new RoomError(
        'bad_signal',
        'A signal carries a description ({type: offer|answer, sdp}) or a candidate',
      );
    this.tell(this.otherThan(peer), { type: 'signal', data });
  }

  private async chat(peer: Peer, body: unknown) {
    this.requireAdmitted();
    const text = typeof body === 'string' ? body.trim() : '';
    if (text.length === 0 || text.length > MAX_CHAT_CHARS)
      throw new RoomError(
        'bad_chat',
        `A chat message is 1 to ${MAX_CHAT_CHARS} characters of text`,
      );
    const stored = await storeChatMessage(this.db, {
      appointmentId: this.appointmentId,
      senderUserId: peer.claims.userId,
      senderRole: peer.claims.role,
      body: text,
      sentAt: this.options.now(),
    });
    await this.audit(peer, 'create', `Appointment/${this.appointmentId}/chat`, 'chat message');
    const message = {
      type: 'chat',
      message: {
        id: stored.id,
        senderRole: stored.senderRole,
        body: stored.body,
        sentAt: new Date(stored.sentAt).toISOString(),
      },
    };
    this.tell(this.host, message);
    this.tell(this.patient, message);
  }

  private async consent(peer: Peer) {
    this.requireRole(peer, 'patient', 'Only the patient consents to a recording');
    await this.record(peer, 'recording-consent');
    await this.audit(
      peer,
      'update',
      `Appointment/${this.appointmentId}/video-room`,
      'patient consented to recording',
    );
    this.tell(this.host, { type: 'recording-consent' });
    this.tell(this.patient, { type: 'recording-consent' });
  }

  private async recording(peer: Peer, state: unknown) {
    this.requireRole(peer, 'host', 'Only the clinician records');
    if (state !== 'started' && state !== 'stopped')
      throw new RoomError('bad_message', 'state is started or stopped');
    this.requireAdmitted();
    if (
      state === 'started' &&
      !(await hasVideoEvent(this.db, this.appointmentId, 'recording-consent'))
    )
      throw new RoomError(
        'consent_required',
        'The patient has not consented to a recording of this visit',
      );
    await this.record(peer, state === 'started' ? 'recording-started' : 'recording-stopped');
    await this.audit(
      peer,
      'update',
      `Appointment/${this.appointmentId}/video-room`,
      `recording ${state}`,
    );
    this.tell(this.host, { type: 'recording', state });
    this.tell(this.patient, { type: 'recording', state });
  }

  private async end(peer: Peer) {
    this.requireRole(peer, 'host', 'Only the clinician ends the visit');
    await this.record(peer, 'ended');
    const visit = await loadVisit(this.db, this.appointmentId);
    if (visit?.status === 'in-progress')
      await setAppointmentStatus(this.db, this.appointmentId, 'completed', this.options.now());
    await this.audit(peer, 'update', `Appointment/${this.appointmentId}`, 'ended the video visit');
    this.ended = true;
    this.admitted = false;
    for (const p of [this.host, this.patient]) {
      this.tell(p, { type: 'ended' });
      p?.ws.close(1000, 'visit ended');
    }
  }

  /** A participant goes (closed, dropped or replaced): recorded once, the other side told. */
  private async depart(peer: Peer) {
    if (this.departed.has(peer)) return;
    this.departed.add(peer);
    const role = peer.claims.role;
    if (this.peerOf(role) !== peer) return;
    this.setPeer(role, undefined);
    const wasAdmitted = this.admitted;
    this.admitted = false;
    await this.record(peer, 'left');
    const other = this.otherThan(peer);
    this.tell(other, { type: 'peer-left', role });
    // The host went away mid-call: the patient is back in the waiting room until re-admitted.
    if (role === 'host' && wasAdmitted && !this.ended && this.patient) await this.startWaiting();
  }

  private async startWaiting() {
    const patient = this.patient as Peer;
    await this.record(patient, 'waiting');
    this.tell(patient, { type: 'waiting' });
    this.tell(this.host, { type: 'patient-waiting' });
  }

  private enqueue(peer: Peer | undefined, task: () => Promise<void> | void): Promise<void> {
    this.queue = this.queue.then(task).catch((error) => {
      if (error instanceof RoomError)
        return this.tell(peer, { type: 'error', code: error.code, message: error.message });
      this.options.log(`video: room ${this.appointmentId}: ${errorForLog(error)}`);
      this.tell(peer, { type: 'error', code: 'internal_error', message: 'Internal server error' });
      // Nothing unrecorded may go on (say the audit trail is down): the connection is dropped.
      peer?.ws.close(1011, 'internal error');
    });
    return this.queue;
  }

  private requireRole(peer: Peer, role: VisitRole, message: string) {
    if (peer.claims.role !== role) throw new RoomError('not_allowed', message);
  }

  private requireAdmitted() {
    if (!this.admitted || !this.host || !this.patient)
      throw new RoomError('not_admitted', 'The patient has not been admitted to the visit yet');
  }

  private peerOf(role: VisitRole): Peer | undefined {
    return role === 'host' ? this.host : this.patient;
  }

  private setPeer(role: VisitRole, peer: Peer | undefined) {
    if (role === 'host') this.host = peer;
    else this.patient = peer;
  }

  private otherThan(peer: Peer): Peer | undefined {
    return peer.claims.role === 'host' ? this.patient : this.host;
  }

  private record(peer: Peer, kind: VideoEventKind) {
    return recordVideoEvent(this.db, {
      appointmentId: this.appointmentId,
      kind,
      at: this.options.now(),
      userId: peer.claims.userId,
      role: peer.claims.role,
    });
  }

  private audit(peer: Peer, action: AuditAction, entity: string, detail: string) {
    return this.options.audit.append({
      action,
      outcome: 'success',
      actor: peer.actor,
      patientIds: [this.patientId],
      entity,
      detail,
      source: peer.source,
      purposeOfUse: 'TREAT',
      at: this.options.now(),
    });
  }
}

/** An RTCSessionDescription or an RTCIceCandidate (null: end of candidates), as JSON. */
function isSignal(data: unknown): boolean {
  if (!data || typeof data !== 'object') return false;
  const { description, candidate } = data as { description?: unknown; candidate?: unknown };
  if (description !== undefined) {
    const d = description as { type?: unknown; sdp?: unknown } | null;
    return !!d && (d.type === 'offer' || d.type === 'answer') && typeof d.sdp === 'string';
  }
  return candidate === null || (typeof candidate === 'object' && candidate !== undefined);
}
