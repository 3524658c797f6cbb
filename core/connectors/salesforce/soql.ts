// SOQL built from checked parts only: field names come from the object's describe, values
// become typed literals (strings escaped per the SOQL reference), and the admin's source
// filter is structured input {field, operator, value} validated against describe. User
// text is never pasted into a query.
import { z } from 'zod';
import { AppError } from '../../errors.ts';

/** The parts of a describe field this module needs. */
export interface DescribeField {
  name: string;
  label: string;
  type: string;
  custom?: boolean;
  updateable?: boolean;
  filterable?: boolean;
  picklistValues?: { value: string; active?: boolean }[];
}

const NUMERIC = new Set(['double', 'currency', 'int', 'percent', 'long']);
const TEXT = new Set(['string', 'textarea', 'url', 'phone', 'email', 'picklist', 'multipicklist', 'combobox', 'id', 'reference']);

/** A field name as Salesforce spells them (letters, digits, underscores; custom ones end in __c). */
export const FIELD_NAME = /^[A-Za-z][A-Za-z0-9_]{0,79}$/;
/** 15- or 18-character record ids. */
export const RECORD_ID = /^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$/;

/** A quoted SOQL string literal: backslash and quote escaped, control characters too. */
export function soqlString(value: string): string {
  const escaped = value.replace(/[\\'"\n\r\t\b\f]/g, (c) => ({ '\\': '\\\\', "'": "\\'", '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' })[c]!);
  return `'${escaped}'`;
}

/** A SOQL datetime literal (UTC, no quotes). */
export function soqlDateTime(d: Date): string {
  return d.toISOString();
}

export function soqlId(id: string): string {
  if (!RECORD_ID.test(id)) throw new AppError('bad_input', `"${id}" is not a Salesforce record id`);
  return `'${id}'`;
}

export const FILTER_OPERATORS = ['=', '!=', '<', '<=', '>', '>=', 'in', 'not in', 'like'] as const;

const filterCondition = z.object({
  field: z.string().regex(FIELD_NAME, 'field must be a Salesforce field name such as Type or Tier__c'),
  operator: z.enum(FILTER_OPERATORS, { message: `operator must be one of ${FILTER_OPERATORS.join(', ')}` }),
  value: z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(z.union([z.string(), z.number()]))]),
});
export type FilterCondition = z.infer<typeof filterCondition>;

function literal(f: DescribeField, value: unknown): string {
  const where = `${f.name} (${f.type})`;
  if (value === null) return 'null';
  if (NUMERIC.has(f.type)) {
    const n = typeof value === 'number' ? value : Number(value);
    if (typeof value === 'boolean' || value === '' || !Number.isFinite(n)) throw new AppError('bad_input', `${where} needs a number, not ${JSON.stringify(value)}`);
    return String(n);
  }
  if (f.type === 'boolean') {
    if (typeof value === 'boolean') return String(value);
    if (value === 'true' || value === 'false') return value;
    throw new AppError('bad_input', `${where} needs true or false, not ${JSON.stringify(value)}`);
  }
  if (f.type === 'date' || f.type === 'datetime') {
    const d = new Date(String(value));
    if (typeof value !== 'string' || Number.isNaN(d.getTime())) throw new AppError('bad_input', `${where} needs a date such as 2024-01-31, not ${JSON.stringify(value)}`);
    return f.type === 'date' ? d.toISOString().slice(0, 10) : d.toISOString();
  }
  if (TEXT.has(f.type)) {
    if (typeof value !== 'string') throw new AppError('bad_input', `${where} needs text, not ${JSON.stringify(value)}`);
    return soqlString(value);
  }
  throw new AppError('bad_input', `${where} cannot be used in a source filter`);
}

/**
 * The WHERE clause of the admin's source filter (the connection setting `filter`: one
 * condition or a list that must all hold), or null when there is none. Every field
 * must exist and be filterable on the object; values must fit the field's type.
 */
export function buildFilter(raw: unknown, fields: Map<string, DescribeField>): string | null {
  if (raw == null || (Array.isArray(raw) && raw.length === 0)) return null;
  const parsed = z.array(filterCondition).max(20, 'at most 20 conditions').safeParse(Array.isArray(raw) ? raw : [raw]);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const at = typeof issue.path[0] === 'number' ? ` (condition ${issue.path[0] + 1}${issue.path[1] ? `, ${String(issue.path[1])}` : ''})` : '';
    throw new AppError('bad_input', `Salesforce source filter: ${issue.message}${at}`);
  }
  const conditions = parsed.data;
  const parts = conditions.map((c) => {
    try {
      return condition(c, fields);
    } catch (e) {
      if (!(e instanceof AppError)) throw e;
      throw new AppError('bad_input', `${e.message} (in ${describeCondition(c)})`);
    }
  });
  return parts.map((p) => `(${p})`).join(' AND ');
}

/** A condition as the admin wrote it, for error messages: Type = "Prospect". */
export function describeCondition(c: FilterCondition): string {
  return `${c.field} ${c.operator} ${JSON.stringify(c.value)}`;
}

/**
 * What buildFilter does not need but an admin saving a filter wants to hear: a value that
 * is not one of a picklist's values (legal SOQL that would quietly match nothing).
 */
export function filterValueProblem(raw: unknown, fields: Map<string, DescribeField>): string | null {
  if (raw == null) return null;
  for (const c of (Array.isArray(raw) ? raw : [raw]) as FilterCondition[]) {
    const f = fields.get(String(c?.field ?? '').toLowerCase());
    if (!f || f.type !== 'picklist' || !f.picklistValues?.length || c.operator === 'like') continue;
    const known = f.picklistValues.map((p) => p.value);
    const bad = (Array.isArray(c.value) ? c.value : [c.value]).find((v) => v !== null && !known.includes(String(v)));
    if (bad !== undefined) return `Salesforce source filter: ${JSON.stringify(bad)} is not a value of ${f.name} (it has ${known.map((v) => JSON.stringify(v)).join(', ')}) (in ${describeCondition(c)})`;
  }
  return null;
}

function condition(c: FilterCondition, fields: Map<string, DescribeField>): string {
  const f = fields.get(c.field.toLowerCase());
  if (!f) throw new AppError('bad_input', `Salesforce source filter: the object has no field ${c.field}`);
  if (f.filterable === false) throw new AppError('bad_input', `Salesforce source filter: ${f.name} cannot be filtered on`);
  if (c.operator === 'in' || c.operator === 'not in') {
    const values = Array.isArray(c.value) ? c.value : [c.value];
    if (values.length === 0 || values.length > 100) throw new AppError('bad_input', `Salesforce source filter: ${c.operator} needs 1 to 100 values`);
    return `${f.name} ${c.operator.toUpperCase()} (${values.map((v) => literal(f, v)).join(', ')})`;
  }
  if (Array.isArray(c.value)) throw new AppError('bad_input', `Salesforce source filter: ${c.operator} takes one value (use "in" for a list)`);
  if (c.operator === 'like' && !TEXT.has(f.type)) throw new AppError('bad_input', `Salesforce source filter: like works on text fields, not ${f.name}`);
  return `${f.name} ${c.operator.toUpperCase()} ${literal(f, c.value)}`;
}
