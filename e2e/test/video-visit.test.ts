// A real video visit between two Chromium browsers with fake camera and microphone: the patient
// signs in on the visit page and waits, the doctor admits her from the waiting room, the two
// browsers connect peer to peer through the cloud's signaling (no media through the cloud), the
// remote video shows frames on both sides, chat goes across, the patient consents to a recording
// that the doctor then makes in his browser, and the doctor ends the visit.

import { base32Decode, totpCode } from '@wardgate/cloud/src/auth/totp.ts';
import { startCloud } from '@wardgate/cloud/src/server.ts';
import { loadVisit } from '@wardgate/cloud/src/telehealth/appointments/visit.ts';
import { loadSession } from '@wardgate/cloud/src/telehealth/video/session.ts';
import {
  insertAppointment,
  seedTelehealth,
  TELEHEALTH_PASSWORD,
} from '@wardgate/cloud/test/support/telehealth.ts';
import { testDatabaseTargets } from '@wardgate/cloud/test/support/test-database.ts';
import { signInToCloud } from '@wardgate/cloud/test/support/video-visit.ts';
import { type Browser, chromium, type Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chromiumPath } from '../support/chromium.ts';

const name =
  'video visit in two Chromium browsers: waiting room, admit, peer-to-peer media, chat, consented recording, end';
const WAIT = { timeout: 30_000 };

const launch = (path: string) =>
  chromium.launch({
    executablePath: path,
    args: ['--no-sandbox', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'],
  });

/** The page's body state (waiting, admitted, ended…), set by the page as things happen. */
const stateIs = (page: Page, state: string) =>
  page.locator(`body[data-state="${state}"]`).waitFor({ state: 'attached', ...WAIT });

/** The remote video has dimensions and a frame is being painted. */
async function remoteVideoPlays(page: Page): Promise<{ width: number; height: number }> {
  await page.waitForFunction(
    () => (document.getElementById('remote-video') as HTMLVideoElement).videoWidth > 0,
    undefined,
    WAIT,
  );
  return page.evaluate(
    () =>
      new Promise<{ width: number; height: number }>((resolve) => {
        const video = document.getElementById('remote-video') as HTMLVideoElement;
        video.requestVideoFrameCallback((_now, frame) =>
          resolve({ width: frame.width, height: frame.height }),
        );
      }),
  );
}

if (!chromiumPath) {
  console.log('skipped: no chromium installed (apt-get install chromium; .ci/run does)');
  test.skip(name);
} else {
  const executable = chromiumPath;
  test(name, async () => {
    const database = await testDatabaseTargets()[0].open();
    const now = Date.now();
    const people = await seedTelehealth(database.db, now, 'e2e');
    const appointmentId = await insertAppointment(
      database.db,
      people,
      { startAt: now + 10 * 60_000 },
      now,
    );
    // The cloud's clock runs ahead on demand: a TOTP code is good once per 30 s step.
    let ahead = 0;
    const clock = () => Date.now() + ahead;
    const cloud = await startCloud({
      database,
      httpPort: 0,
      mqttPort: 0,
      app: { auth: { now: clock } },
    });
    const browsers: Browser[] = [];
    try {
      browsers.push(await launch(executable), await launch(executable));
      const [patientBrowser, doctorBrowser] = browsers;
      const visitUrl = `${cloud.httpUrl}/telehealth/visit/${appointmentId}`;

      // The page itself carries nothing about the visit.
      const html = await (await fetch(visitUrl)).text();
      assert.not.match(html, /Anna|Jansen|Visser/);

      // The patient signs in on the page (no MFA for patients) and waits.
      const patient = await (await patientBrowser.newContext()).newPage();
      await patient.goto(visitUrl);
      assert.not.ok(await patient.getByTestId('mfa-code').isVisible(), 'no code field yet');
      await patient.getByTestId('username').fill(people.patient.username);
      await patient.getByTestId('password').fill(TELEHEALTH_PASSWORD);
      await patient.getByTestId('signin-submit').click();
      await stateIs(patient, 'ready');
      await patient.getByTestId('join').click();
      await stateIs(patient, 'waiting');

      // The doctor's first sign-in enrols an authenticator on the page: key shown, first code,
      // recovery codes shown once.
      const signIn = async (page: Page) => {
        await page.goto(visitUrl);
        await page.getByTestId('username').fill(people.doctor.username);
        await page.getByTestId('password').fill(TELEHEALTH_PASSWORD);
        await page.getByTestId('signin-submit').click();
      };
      const enrolPage = await (await doctorBrowser.newContext()).newPage();
      await signIn(enrolPage);
      await stateIs(enrolPage, 'mfa-enrol');
      const totpKey = base32Decode(
        (await enrolPage.getByTestId('enrol-secret').textContent()) ?? '',
      );
      assert.match(
        (await enrolPage.getByTestId('enrol-link').getAttribute('href')) ?? '',
        /^otpauth:\/\/totp\//,
      );
      await enrolPage.getByTestId('mfa-code').fill(totpCode(totpKey, clock()));
      await enrolPage.getByTestId('signin-submit').click();
      await stateIs(enrolPage, 'ready');
      assert.is(await enrolPage.getByTestId('recovery-codes').locator('li').count(), 10);
      assert.not.ok(await enrolPage.getByTestId('signin').isVisible(), 'sign-in form gone');
      await enrolPage.close();

      // Later sign-ins ask for the code (the next one: a code is good once).
      const doctor = await (await doctorBrowser.newContext()).newPage();
      await signIn(doctor);
      await stateIs(doctor, 'mfa');
      ahead += 30_000;
      await doctor.getByTestId('mfa-code').fill(totpCode(totpKey, clock()));
      await doctor.getByTestId('signin-submit').click();
      await stateIs(doctor, 'ready');

      // A session handed over in the fragment (by a portal) signs in without the form, and the
      // token does not stay in the address.
      const handedOver = await (await patientBrowser.newContext()).newPage();
      await handedOver.goto(
        `${visitUrl}#session=${await signInToCloud(cloud.httpUrl, people.patient.username, TELEHEALTH_PASSWORD)}`,
      );
      await stateIs(handedOver, 'ready');
      assert.not.match(handedOver.url(), /session=/);
      await handedOver.close();
      await doctor.getByTestId('join').click();
      await stateIs(doctor, 'patient-waiting');
      await doctor.getByTestId('admit').click();

      for (const page of [doctor, patient]) {
        await stateIs(page, 'admitted');
        await page
          .locator('body[data-connection="connected"]')
          .waitFor({ state: 'attached', ...WAIT });
      }
      for (const page of [doctor, patient]) {
        const frame = await remoteVideoPlays(page);
        assert.ok(frame.width > 0 && frame.height > 0, `frames ${JSON.stringify(frame)}`);
      }
      assert.is((await loadVisit(database.db, appointmentId))?.status, 'in-progress');

      await patient.getByTestId('chat-input').fill('Can you hear me?');
      await patient.getByTestId('chat-send').click();
      await doctor
        .getByTestId('chat-message')
        .filter({ hasText: 'Patient: Can you hear me?' })
        .waitFor(WAIT);
      await doctor.getByTestId('chat-input').fill('Yes, loud and clear.');
      await doctor.getByTestId('chat-send').click();
      await patient
        .getByTestId('chat-message')
        .filter({ hasText: 'Clinician: Yes, loud and clear.' })
        .waitFor(WAIT);

      // Recording: only once the patient has agreed; it is made in the doctor's browser.
      assert.ok(await doctor.getByTestId('record').isDisabled());
      await patient.getByTestId('consent').click();
      await doctor.locator('[data-testid="record"]:enabled').waitFor(WAIT);
      await doctor.getByTestId('record').click();
      await patient.getByTestId('status').filter({ hasText: 'being recorded' }).waitFor(WAIT);
      await doctor.locator('[data-testid="record"]', { hasText: 'Stop recording' }).waitFor(WAIT);
      await doctor.getByTestId('record').click();
      await doctor.getByTestId('recording-download').waitFor(WAIT);

      await doctor.getByTestId('end').click();
      await stateIs(doctor, 'ended');
      await stateIs(patient, 'ended');
      assert.is((await loadVisit(database.db, appointmentId))?.status, 'completed');
      const visitSession = await loadSession(database.db, appointmentId);
      assert.ok(visitSession?.endedAt && visitSession.endedAt >= visitSession.startedAt);
    } finally {
      for (const browser of browsers) await browser.close();
      await cloud.stop();
    }
  });
}

test.run();
