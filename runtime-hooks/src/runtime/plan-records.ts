/**
 * The plan berth-runtime hands to the C helper (runtime-hooks/native): records of an operation name and string
 * fields, each record encoded as "<field count>\0<op>\0<field>\0…". The helper runs them in order; see README.md.
 */
export type PlanRecord = readonly [op: string, ...fields: string[]];

export function encodeRecords(records: readonly PlanRecord[]): Buffer {
  const parts: string[] = [];
  for (const record of records) {
    for (const field of record) {
      if (field.includes('\0')) throw new TypeError(`encodeRecords: NUL in a field of ${record[0]}`);
    }
    parts.push(`${record.length}\0${record.join('\0')}\0`);
  }
  return Buffer.from(parts.join(''), 'utf8');
}
