// The video visit page, for the clinician (host) and the patient alike. It signs in through
// /api/auth, asks /api/telehealth for a room token, and talks to the signaling socket; audio
// and video go straight between the two browsers (WebRTC), never through the cloud.

const $ = (id) => document.getElementById(id);
const SESSION_KEY = 'wardgate.session';
const appointmentId = decodeURIComponent(location.pathname.split('/').pop() ?? '');

const state = {
  session: null,
  role: null,
  socket: null,
  peer: null,
  iceServers: [],
  localStream: null,
  remoteStream: null,
  pendingCandidates: [],
  consent: false,
  admitted: false,
  recorder: null,
  /** Staff signing in for the first time: the authenticator is being enrolled. */
  enrolling: false,
};

function show(status, bodyState) {
  $('status').textContent = status;
  if (bodyState) document.body.dataset.state = bodyState;
}

function showError(message) {
  const el = $('error');
  el.textContent = message;
  el.hidden = !message;
}

async function api(method, path, body) {
  const headers = { accept: 'application/json' };
  if (state.session) headers.authorization = `Bearer ${state.session}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(json.error?.message ?? `${method} ${path}: ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return json;
}

// A session token may be handed over in the fragment (never sent to a server), e.g. by a portal.
function takeSessionFromFragment() {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get('session');
  if (!token) return;
  sessionStorage.setItem(SESSION_KEY, token);
  history.replaceState(null, '', location.pathname + location.search);
}

async function start() {
  if (!appointmentId) return show('No appointment in the address', 'error');
  takeSessionFromFragment();
  state.session = sessionStorage.getItem(SESSION_KEY);
  if (state.session) {
    try {
      await api('GET', '/api/auth/me');
      return ready();
    } catch {
      sessionStorage.removeItem(SESSION_KEY);
      state.session = null;
    }
  }
  $('signin').hidden = false;
  show('Sign in to join your visit', 'signin');
}

$('signin').addEventListener('submit', async (event) => {
  event.preventDefault();
  showError('');
  try {
    if (!state.session) {
      const login = await api('POST', '/api/auth/login', {
        username: $('username').value,
        password: $('password').value,
      });
      state.session = login.token;
      if (login.mfaEnrolmentRequired) return startEnrolment();
      if (login.mfaRequired) return askForCode('Enter the code from your authenticator app', 'mfa');
    } else if (state.enrolling) {
      const { recoveryCodes } = await api('POST', '/api/auth/mfa/activate', {
        code: $('mfa-code').value.trim(),
      });
      showRecoveryCodes(recoveryCodes);
    } else {
      await api('POST', '/api/auth/mfa', { code: $('mfa-code').value.trim() });
    }
    sessionStorage.setItem(SESSION_KEY, state.session);
    $('signin').hidden = true;
    ready();
  } catch (error) {
    showError(error.message);
  }
});

function askForCode(status, bodyState) {
  $('mfa-field').hidden = false;
  $('mfa-code').required = true;
  $('mfa-code').focus();
  show(status, bodyState);
}

// Staff sign in with a second factor; the first time, they enrol their authenticator here.
async function startEnrolment() {
  const { secret, otpauthUri } = await api('POST', '/api/auth/mfa/enrol');
  state.enrolling = true;
  $('enrol-secret').textContent = secret;
  $('enrol-link').href = otpauthUri;
  $('enrol').hidden = false;
  askForCode('Add the key to your authenticator app, then enter its first code', 'mfa-enrol');
}

function showRecoveryCodes(codes) {
  $('enrol').hidden = true;
  $('recovery-codes').replaceChildren(
    ...codes.map((code) => {
      const item = document.createElement('li');
      item.textContent = code;
      return item;
    }),
  );
  $('recovery').hidden = false;
}

function ready() {
  $('visit').hidden = false;
  show('Ready: join when it is time for your visit', 'ready');
}

$('join').addEventListener('click', async () => {
  showError('');
  $('join').disabled = true;
  try {
    if (!state.localStream) {
      state.localStream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
      $('local-video').srcObject = state.localStream;
    }
    const room = await api(
      'POST',
      `/api/telehealth/appointments/${encodeURIComponent(appointmentId)}/video/token`,
    );
    state.iceServers = room.iceServers;
    state.role = room.role;
    connect(room);
  } catch (error) {
    showError(error.message);
    $('join').disabled = false;
  }
});

function connect(room) {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const socket = new WebSocket(
    `${scheme}://${location.host}${room.signalingPath}?token=${encodeURIComponent(room.token)}`,
  );
  state.socket = socket;
  show('Connecting…', 'connecting');
  socket.addEventListener('message', (event) => onMessage(JSON.parse(event.data)));
  socket.addEventListener('close', () => {
    if (state.socket !== socket) return;
    state.socket = null;
    hangUp();
    if (document.body.dataset.state !== 'ended') {
      show('Disconnected from the visit', 'disconnected');
      $('join').disabled = false;
      $('join').hidden = false;
    }
    setControls();
  });
}

function send(message) {
  state.socket?.send(JSON.stringify(message));
}

async function onMessage(message) {
  switch (message.type) {
    case 'hello':
      state.consent = message.recordingConsent;
      $('join').hidden = true;
      $('remote-caption').textContent = state.role === 'host' ? 'Patient' : 'Clinician';
      if (state.role === 'host') show('In the room: waiting for the patient', 'host-waiting');
      break;
    case 'waiting':
      state.admitted = false;
      show('You are in the waiting room; the clinician will let you in', 'waiting');
      break;
    case 'patient-waiting':
      show('The patient is in the waiting room', 'patient-waiting');
      $('admit').disabled = false;
      break;
    case 'admitted':
      state.admitted = true;
      show('In the visit', 'admitted');
      await startCall(message.initiator);
      break;
    case 'signal':
      await onSignal(message.data);
      break;
    case 'chat':
      addChat(message.message);
      break;
    case 'recording-consent':
      state.consent = true;
      break;
    case 'recording':
      onRecording(message.state);
      break;
    case 'peer-left':
      state.admitted = false;
      hangUp();
      show(
        message.role === 'patient' ? 'The patient left the visit' : 'The clinician left the visit',
        'peer-left',
      );
      break;
    case 'ended':
      state.admitted = false;
      hangUp();
      for (const track of state.localStream?.getTracks() ?? []) track.stop();
      show('The visit has ended', 'ended');
      break;
    case 'error':
      showError(message.message);
      break;
  }
  setControls();
}

function setControls() {
  const host = state.role === 'host';
  const inRoom = state.socket !== null;
  $('admit').hidden = !host || !inRoom;
  if (state.admitted || !inRoom) $('admit').disabled = true;
  $('end').hidden = !host || !inRoom;
  $('end').disabled = !inRoom;
  $('consent').hidden = host || !inRoom;
  $('consent').disabled = state.consent;
  $('consent').textContent = state.consent
    ? 'You agreed to this visit being recorded'
    : 'I agree to this visit being recorded';
  $('record').hidden = !host || !inRoom;
  $('record').disabled = !state.admitted || (!state.consent && !state.recorder);
  $('record').textContent = state.recorder ? 'Stop recording' : 'Start recording';
  $('recording-note').hidden = !host || !inRoom;
  const chatOpen = state.admitted && inRoom;
  $('chat-input').disabled = !chatOpen;
  document.querySelector('#chat-form button').disabled = !chatOpen;
}

async function startCall(initiator) {
  hangUp();
  const peer = new RTCPeerConnection({ iceServers: state.iceServers });
  state.peer = peer;
  state.pendingCandidates = [];
  for (const track of state.localStream.getTracks()) peer.addTrack(track, state.localStream);
  peer.addEventListener('icecandidate', (event) => {
    send({
      type: 'signal',
      data: { candidate: event.candidate ? event.candidate.toJSON() : null },
    });
  });
  peer.addEventListener('track', (event) => {
    state.remoteStream = event.streams[0] ?? new MediaStream([event.track]);
    $('remote-video').srcObject = state.remoteStream;
  });
  peer.addEventListener('connectionstatechange', () => {
    if (state.peer === peer) document.body.dataset.connection = peer.connectionState;
  });
  if (initiator) {
    await peer.setLocalDescription(await peer.createOffer());
    send({ type: 'signal', data: { description: peer.localDescription.toJSON() } });
  }
}

async function onSignal(data) {
  const peer = state.peer;
  if (!peer) return;
  if (data.description) {
    await peer.setRemoteDescription(data.description);
    if (data.description.type === 'offer') {
      await peer.setLocalDescription(await peer.createAnswer());
      send({ type: 'signal', data: { description: peer.localDescription.toJSON() } });
    }
    for (const candidate of state.pendingCandidates.splice(0))
      await peer.addIceCandidate(candidate);
  } else if (data.candidate) {
    if (peer.remoteDescription) await peer.addIceCandidate(data.candidate);
    else state.pendingCandidates.push(data.candidate);
  }
}

function hangUp() {
  stopRecorder(false);
  if (state.peer) {
    state.peer.close();
    state.peer = null;
    document.body.dataset.connection = 'closed';
  }
  $('remote-video').srcObject = null;
}

function addChat(message) {
  const item = document.createElement('li');
  item.dataset.testid = 'chat-message';
  item.dataset.from = message.senderRole;
  const who =
    message.senderRole === state.role
      ? 'You'
      : message.senderRole === 'host'
        ? 'Clinician'
        : 'Patient';
  item.textContent = `${who}: ${message.body}`;
  $('chat-log').append(item);
  item.scrollIntoView({ block: 'nearest' });
}

$('chat-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const body = $('chat-input').value.trim();
  if (!body) return;
  send({ type: 'chat', body });
  $('chat-input').value = '';
});

$('admit').addEventListener('click', () => send({ type: 'admit' }));
$('end').addEventListener('click', () => send({ type: 'end' }));
$('consent').addEventListener('click', () => send({ type: 'recording-consent' }));
// The server records the start (and refuses it without the patient's consent); only its answer
// starts the recorder.
$('record').addEventListener('click', () =>
  send({ type: 'recording', state: state.recorder ? 'stopped' : 'started' }),
);

function onRecording(recordingState) {
  const status =
    recordingState === 'started' ? 'This visit is being recorded' : 'Recording stopped';
  show(status, document.body.dataset.state);
  if (state.role !== 'host') return;
  if (recordingState === 'started' && !state.recorder && state.remoteStream) {
    const chunks = [];
    const recorder = new MediaRecorder(state.remoteStream);
    recorder.addEventListener('dataavailable', (event) => chunks.push(event.data));
    recorder.addEventListener('stop', () => {
      const saved = $('recording-saved');
      const previous = saved.querySelector('a');
      if (previous) URL.revokeObjectURL(previous.href);
      const link = document.createElement('a');
      link.href = URL.createObjectURL(new Blob(chunks, { type: recorder.mimeType }));
      link.download = 'visit-recording.webm';
      link.dataset.testid = 'recording-download';
      link.textContent = 'Save the recording (it is only in this browser)';
      saved.replaceChildren(link);
      saved.hidden = false;
    });
    recorder.start();
    state.recorder = recorder;
  } else if (recordingState === 'stopped') {
    stopRecorder(false);
  }
}

function stopRecorder(tellServer) {
  if (!state.recorder) return;
  const recorder = state.recorder;
  state.recorder = null;
  if (recorder.state !== 'inactive') recorder.stop();
  if (tellServer) send({ type: 'recording', state: 'stopped' });
}

start();
