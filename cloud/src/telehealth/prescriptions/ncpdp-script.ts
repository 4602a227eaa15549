import { XMLParser, XMLValidator } from 'fast-xml-parser';

/**
 * NCPDP SCRIPT 2017071 messages as this adapter and the pharmacy simulator speak them: NewRx
 * out, Status (accepted) or Error back, over HTTP with Content-Type application/xml. Only the
 * elements wardgate fills are built and read; every text is XML-escaped.
 */
export const SCRIPT_NAMESPACE = 'http://www.ncpdp.org/schema/SCRIPT';
export const SCRIPT_VERSION = '2017071';
/** Status code "010": accepted by the ultimate receiver. */
export const STATUS_ACCEPTED = '010';
/** Error codes: 600 communication problem, 601 receiver unable to process, 900 rejected. */
export const ERROR_REJECTED = '900';
export const ERROR_UNABLE_TO_PROCESS = '601';
/** DrugDBCode qualifier of an RxNorm ingredient (term type IN). */
export const RXNORM_INGREDIENT_QUALIFIER = 'IN';

export interface NewRx {
  messageId: string;
  /** ms since the epoch; SentTime. */
  sentAt: number;
  /** Sender id (Header/From, qualifier C). */
  from: string;
  prescriberOrderNumber: string;
  patient: {
    lastName: string;
    firstName: string;
    gender: 'M' | 'F' | 'U';
    /** YYYY-MM-DD */
    birthDate: string;
  };
  pharmacy: { ncpdpId: string; name?: string };
  prescriber: { npi: string; lastName: string; firstName?: string };
  medication: {
    description: string;
    rxnorm: string;
    rxnormQualifier: string;
    quantity: { value: number; unitCode: string };
    daysSupply: number;
    /** YYYY-MM-DD */
    writtenDate: string;
    /** 0: substitution allowed, 1: dispense as written. */
    substitutions: 0 | 1;
    refills: number;
    sig: string;
  };
}

type Node = [name: string, content: string | number | Node[], attributes?: Record<string, string>];

/** Characters XML 1.0 cannot carry at all (escaped or not): dropped. */
const NOT_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

export function escapeXml(text: string): string {
  return text
    .replace(NOT_XML, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function render([name, content, attributes]: Node): string {
  const attrs = Object.entries(attributes ?? {})
    .map(([k, v]) => ` ${k}="${escapeXml(v)}"`)
    .join('');
  const inner = Array.isArray(content) ? content.map(render).join('') : escapeXml(String(content));
  return `<${name}${attrs}>${inner}</${name}>`;
}

const MESSAGE_ATTRIBUTES = {
  xmlns: SCRIPT_NAMESPACE,
  DatatypesVersion: SCRIPT_VERSION,
  TransportVersion: SCRIPT_VERSION,
  TransactionDomain: 'SCRIPT',
  TransactionVersion: SCRIPT_VERSION,
  StructuresVersion: SCRIPT_VERSION,
  ECLVersion: SCRIPT_VERSION,
};

function message(header: Node[], body: Node): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${render([
    'Message',
    [
      ['Header', header],
      ['Body', [body]],
    ],
    MESSAGE_ATTRIBUTES,
  ])}`;
}

export function buildNewRx(rx: NewRx): string {
  const m = rx.medication;
  return message(
    [
      ['To', rx.pharmacy.ncpdpId, { Qualifier: 'P' }],
      ['From', rx.from, { Qualifier: 'C' }],
      ['MessageID', rx.messageId],
      ['SentTime', new Date(rx.sentAt).toISOString()],
      [
        'SenderSoftware',
        [
          ['SenderSoftwareDeveloper', 'wardgate'],
          ['SenderSoftwareProduct', 'wardgate cloud'],
          ['SenderSoftwareVersionRelease', '1'],
        ],
      ],
      ['PrescriberOrderNumber', rx.prescriberOrderNumber],
    ],
    [
      'NewRx',
      [
        [
          'Patient',
          [
            [
              'HumanPatient',
              [
                [
                  'Name',
                  [
                    ['LastName', rx.patient.lastName],
                    ['FirstName', rx.patient.firstName],
                  ],
                ],
                ['Gender', rx.patient.gender],
                ['DateOfBirth', [['Date', rx.patient.birthDate]]],
              ],
            ],
          ],
        ],
        [
          'Pharmacy',
          [
            ['Identification', [['NCPDPID', rx.pharmacy.ncpdpId]]],
            ...(rx.pharmacy.name ? [['BusinessName', rx.pharmacy.name] as Node] : []),
          ],
        ],
        [
          'Prescriber',
          [
            [
              'NonVeterinarian',
              [
                ['Identification', [['NPI', rx.prescriber.npi]]],
                [
                  'Name',
                  [
                    ['LastName', rx.prescriber.lastName],
                    ...(rx.prescriber.firstName
                      ? [['FirstName', rx.prescriber.firstName] as Node]
                      : []),
                  ],
                ],
              ],
            ],
          ],
        ],
        [
          'MedicationPrescribed',
          [
            ['DrugDescription', m.description],
            [
              'DrugCoded',
              [
                [
                  'DrugDBCode',
                  [
                    ['Code', m.rxnorm],
                    ['Qualifier', m.rxnormQualifier],
                  ],
                ],
              ],
            ],
            [
              'Quantity',
              [
                ['Value', m.quantity.value],
                ['CodeListQualifier', '38'],
                ['QuantityUnitOfMeasure', [['Code', m.quantity.unitCode]]],
              ],
            ],
            ['DaysSupply', m.daysSupply],
            ['WrittenDate', [['Date', m.writtenDate]]],
            ['Substitutions', m.substitutions],
            ['NumberOfRefills', m.refills],
            ['Sig', [['SigText', m.sig]]],
          ],
        ],
      ],
    ],
  );
}

/** The receiver's answer header: To the sender, From the pharmacy, relating to the NewRx. */
function answerHeader(to: string, from: string, messageId: string, relatesTo: string, at: number) {
  return [
    ['To', to, { Qualifier: 'C' }],
    ['From', from, { Qualifier: 'P' }],
    ['MessageID', messageId],
    ['RelatesToMessageID', relatesTo],
    ['SentTime', new Date(at).toISOString()],
  ] satisfies Node[];
}

export interface AnswerFields {
  to: string;
  from: string;
  messageId: string;
  relatesTo: string;
  sentAt: number;
}

export function buildStatus(a: AnswerFields, description = 'Accepted'): string {
  return message(answerHeader(a.to, a.from, a.messageId, a.relatesTo, a.sentAt), [
    'Status',
    [
      ['Code', STATUS_ACCEPTED],
      ['Description', description],
    ],
  ]);
}

export function buildError(a: AnswerFields, code: string, description: string): string {
  return message(answerHeader(a.to, a.from, a.messageId, a.relatesTo, a.sentAt), [
    'Error',
    [
      ['Code', code],
      ['Description', description],
    ],
  ]);
}

// biome-ignore lint/suspicious/noExplicitAny: parsed XML is walked with the checks below.
type Xml = any;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: true,
});

/** A SCRIPT document as a tree, or a reason it is not one (no DTDs: no entity games). */
export function parseScript(xml: string): { message: Xml } | { problem: string } {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) return { problem: 'DTDs are not accepted' };
  const valid = XMLValidator.validate(xml);
  if (valid !== true) return { problem: `not well-formed XML: ${valid.err.msg}` };
  const tree = parser.parse(xml) as Xml;
  if (!tree?.Message || typeof tree.Message !== 'object')
    return { problem: 'the root element is not Message' };
  return { message: tree.Message };
}

/** The text of an element (an element with attributes keeps its text in #text). */
export function textOf(node: Xml): string | undefined {
  if (typeof node === 'string') return node;
  if (typeof node === 'number') return String(node);
  if (node && typeof node === 'object' && typeof node['#text'] === 'string') return node['#text'];
  return undefined;
}

export type PharmacyAnswer =
  | { kind: 'status'; code: string; description?: string; relatesTo?: string }
  | { kind: 'error'; code: string; description: string; relatesTo?: string };

/** A pharmacy's answer to a NewRx, or a problem when it is neither Status nor Error. */
export function parseAnswer(xml: string): PharmacyAnswer | { problem: string } {
  const parsed = parseScript(xml);
  if ('problem' in parsed) return parsed;
  const { Header: header, Body: body } = parsed.message;
  const relatesTo = textOf(header?.RelatesToMessageID);
  if (body?.Status) {
    const code = textOf(body.Status.Code);
    if (!code) return { problem: 'Status without a Code' };
    return { kind: 'status', code, description: textOf(body.Status.Description), relatesTo };
  }
  if (body?.Error) {
    const code = textOf(body.Error.Code) ?? '';
    return {
      kind: 'error',
      code,
      description: textOf(body.Error.Description) ?? '(no description)',
      relatesTo,
    };
  }
  return { problem: 'the answer is neither Status nor Error' };
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
/** RxNorm term types SCRIPT accepts as a DrugDBCode qualifier. */
const RXNORM_QUALIFIERS = /^(IN|PIN|MIN|SCD|SBD|GPCK|BPCK|SCDF|SBDF|SCDG|SBDG|SCDC|SBDC)$/;

/**
 * A NewRx read back (the pharmacy side), or every problem with it: required elements present,
 * dates and numbers well-formed, an RxNorm code in DrugDBCode.
 */
export function parseNewRx(xml: string): { newRx: NewRx } | { problems: string[] } {
  const parsed = parseScript(xml);
  if ('problem' in parsed) return { problems: [parsed.problem] };
  const problems: string[] = [];
  const { Header: h, Body: body } = parsed.message;
  const rx = body?.NewRx;
  if (!rx) return { problems: ['Body has no NewRx'] };
  const need = (path: string, node: Xml, pattern?: RegExp): string => {
    const value = textOf(node);
    if (!value) problems.push(`${path} is required`);
    else if (pattern && !pattern.test(value)) problems.push(`${path} "${value}" is malformed`);
    return value ?? '';
  };
  const number = (path: string, node: Xml, integer: boolean) => {
    const value = need(path, node, integer ? /^\d+$/ : /^\d+(\.\d+)?$/);
    return Number(value);
  };
  const patient = rx.Patient?.HumanPatient;
  const prescriber = rx.Prescriber?.NonVeterinarian;
  const med = rx.MedicationPrescribed;
  const messageId = need('Header/MessageID', h?.MessageID);
  const sentTime = need('Header/SentTime', h?.SentTime);
  const gender = need('Patient/HumanPatient/Gender', patient?.Gender, /^[MFU]$/);
  const newRx: NewRx = {
    messageId,
    sentAt: Date.parse(sentTime),
    from: need('Header/From', h?.From),
    prescriberOrderNumber: textOf(h?.PrescriberOrderNumber) ?? '',
    patient: {
      lastName: need('Patient/HumanPatient/Name/LastName', patient?.Name?.LastName),
      firstName: need('Patient/HumanPatient/Name/FirstName', patient?.Name?.FirstName),
      gender: gender as NewRx['patient']['gender'],
      birthDate: need('Patient/HumanPatient/DateOfBirth/Date', patient?.DateOfBirth?.Date, DATE),
    },
    pharmacy: {
      ncpdpId: need(
        'Pharmacy/Identification/NCPDPID',
        rx.Pharmacy?.Identification?.NCPDPID,
        /^\d{7}$/,
      ),
      name: textOf(rx.Pharmacy?.BusinessName),
    },
    prescriber: {
      npi: need(
        'Prescriber/NonVeterinarian/Identification/NPI',
        prescriber?.Identification?.NPI,
        /^\d{10}$/,
      ),
      lastName: need('Prescriber/NonVeterinarian/Name/LastName', prescriber?.Name?.LastName),
      firstName: textOf(prescriber?.Name?.FirstName),
    },
    medication: {
      description: need('MedicationPrescribed/DrugDescription', med?.DrugDescription),
      rxnorm: need(
        'MedicationPrescribed/DrugCoded/DrugDBCode/Code',
        med?.DrugCoded?.DrugDBCode?.Code,
        /^\d+$/,
      ),
      rxnormQualifier: need(
        'MedicationPrescribed/DrugCoded/DrugDBCode/Qualifier',
        med?.DrugCoded?.DrugDBCode?.Qualifier,
        RXNORM_QUALIFIERS,
      ),
      quantity: {
        value: number('MedicationPrescribed/Quantity/Value', med?.Quantity?.Value, false),
        unitCode: need(
          'MedicationPrescribed/Quantity/QuantityUnitOfMeasure/Code',
          med?.Quantity?.QuantityUnitOfMeasure?.Code,
        ),
      },
      daysSupply: number('MedicationPrescribed/DaysSupply', med?.DaysSupply, true),
      writtenDate: need('MedicationPrescribed/WrittenDate/Date', med?.WrittenDate?.Date, DATE),
      substitutions:
        number('MedicationPrescribed/Substitutions', med?.Substitutions, true) === 1 ? 1 : 0,
      refills: number('MedicationPrescribed/NumberOfRefills', med?.NumberOfRefills, true),
      sig: need('MedicationPrescribed/Sig/SigText', med?.Sig?.SigText),
    },
  };
  if (sentTime && Number.isNaN(newRx.sentAt)) problems.push('Header/SentTime is not a date-time');
  if (newRx.medication.quantity.value <= 0)
    problems.push('MedicationPrescribed/Quantity/Value must be positive');
  return problems.length > 0 ? { problems } : { newRx };
}
