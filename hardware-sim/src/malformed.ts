// Broken variants of good device output, for the malformed-line, truncated-hl7 and
// malformed-hl7 faults. Each takes the message the device would have sent and an index, and
// cycles through its variants so a run of faulty messages covers all of them.

/** A line the oximeter's format does not allow, cycling through the ways real lines go wrong. */
export function malformedOximeterLine(line: string, index: number): string {
  const body = line.replace(/\r?\n$/, '');
  const variants = [
    () => body.slice(0, Math.floor(body.length / 2)), // cut short mid-field
    () => body.replace(/SPO2=\d+%/, 'SPO2=187%'), // out of range
    () => body.replace(/BPM=\d+/, 'BPM=7X2'), // not a number
    () => body.replace(/^\S+ \S+ /, ''), // date and time missing
    () => body.replace(/SN=\S+ /, '').replace(/SPO2=/, 'SP02='), // fields mangled
    () => 'X'.repeat(600), // longer than any line the device prints
  ];
  return `${variants[index % variants.length]()}\r\n`;
}

/** An HL7 message cut off: mid-segment, after MSH only, or with its last segments lost. */
export function truncatedHl7(message: string, index: number): string {
  const segments = message.split('\r').filter(Boolean);
  const variants = [
    () => message.slice(0, Math.floor(message.length * 0.6)),
    () => segments[0],
    () => segments.slice(0, 2).join('\r'),
    () => message.slice(0, 5),
  ];
  return variants[index % variants.length]();
}

/** An HL7 message that is framed right but is not a valid PCD-01 report. */
export function malformedHl7(message: string, index: number): string {
  const variants = [
    () => message.replace(/^MSH\|\^~\\&/, 'MSX|^~\\&'), // no MSH
    () => message.replace(/^MSH\|\^~\\&\|/, 'MSH|'), // no encoding characters
    () => message.replace(/ORU\^R01(\^ORU_R01)?/, 'ADT^A01^ADT_A01'), // a message type it cannot carry
    () => message.replace(/(OBX\|\d+\|NM\|[^|]*\|[^|]*\|)[^|]*/, '$1not-a-number'), // bad value
    () => 'this is not HL7 at all',
  ];
  return variants[index % variants.length]();
}
