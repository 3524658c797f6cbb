// The integration log and its companions: SourceLink (external record → Pivotal
// record), SyncRun (one run of validate/preview/full/incremental/reconcile/record,
// kept 30 days), SyncError (a failed record, ignorable until it changes in the source)
// and AmbiguousMatch (a domain claimed by several source records).
import { Schema } from 'mongoose';
import { defineModel } from './define.ts';

const sourceLinkSchema = new Schema(
  {
    workspace_id: { type: Schema.Types.ObjectId, required: true },
    connection_id: { type: Schema.Types.ObjectId, required: true },
    object_type: { type: String, required: true },
    external_id: { type: String, required: true },
    target_type: { type: String, enum: ['customer', 'contact'], required: true },
    target_id: { type: Schema.Types.ObjectId, required: true },
    source_modified_at: { type: Date, default: null },
    content_hash: { type: String, default: null },
    last_run_id: { type: Schema.Types.ObjectId, default: null },
    /** the last complete walk (full/reconcile) that saw this record; the others were deleted at the source */
    seen_run_id: { type: Schema.Types.ObjectId, default: null },
  },
  { timestamps: true },
);
sourceLinkSchema.index({ connection_id: 1, object_type: 1, external_id: 1 }, { unique: true });
sourceLinkSchema.index({ target_id: 1 });
export const SourceLink = defineModel('SourceLink', sourceLinkSchema, 'source_links');

export const SYNC_KINDS = ['validate', 'preview', 'full', 'incremental', 'reconcile', 'record'] as const;
export type SyncKind = (typeof SYNC_KINDS)[number];
export const SYNC_RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'paused', 'canceled'] as const;
export const SYNC_RUN_RETENTION_DAYS = 30;

const countsSchema = new Schema(
  {
    created: { type: Number, default: 0 },
    updated: { type: Number, default: 0 },
    unchanged: { type: Number, default: 0 },
    matched: { type: Number, default: 0 },
    unmatched: { type: Number, default: 0 },
    skipped: { type: Number, default: 0 },
    ambiguous: { type: Number, default: 0 },
    archived: { type: Number, default: 0 },
    errors: { type: Number, default: 0 },
  },
  // "errors" is the contract's name for the count of failed records.
  { _id: false, suppressReservedKeysWarning: true },
);

const syncRunSchema = new Schema(
  {
    workspace_id: { type: Schema.Types.ObjectId, required: true },
    connection_id: { type: Schema.Types.ObjectId, required: true },
    kind: { type: String, enum: SYNC_KINDS, required: true },
    trigger: { type: String, default: 'manual' }, // manual | schedule | webhook | cli | resync
    status: { type: String, enum: SYNC_RUN_STATUSES, default: 'queued' },
    started_at: { type: Date, default: null },
    finished_at: { type: Date, default: null },
    counts: { type: countsSchema, default: () => ({}) },
    progress: { done: { type: Number, default: 0 }, total: { type: Number, default: null }, phase: { type: String, default: null } },
    checkpoint: { type: Schema.Types.Mixed, default: null },
    message: { type: String, default: null },
    /** validate: records with problems (no match key, duplicates, …) */
    problems: { type: Schema.Types.Mixed, default: () => [] },
    /** preview: what the first records became */
    results: { type: Schema.Types.Mixed, default: () => [] },
    expires_at: { type: Date, default: () => new Date(Date.now() + SYNC_RUN_RETENTION_DAYS * 86_400_000) },
  },
  { timestamps: true, minimize: false },
);
syncRunSchema.index({ connection_id: 1, createdAt: -1 });
syncRunSchema.index({ expires_at: 1 }, { expireAfterSeconds: 0 }); // the integration log keeps 30 days
export const SyncRun = defineModel('SyncRun', syncRunSchema, 'sync_runs');

const syncErrorSchema = new Schema(
  {
    workspace_id: { type: Schema.Types.ObjectId, required: true },
    connection_id: { type: Schema.Types.ObjectId, required: true },
    run_id: { type: Schema.Types.ObjectId, default: null },
    object_type: { type: String, required: true },
    record_id: { type: String, required: true },
    code: { type: String, default: 'permanent' },
    message: { type: String, required: true },
    provider_response: { type: String, default: null },
    ignored: { type: Boolean, default: false },
    ignored_at: { type: Date, default: null },
    ignored_source_modified_at: { type: Date, default: null },
    resolved_at: { type: Date, default: null },
    attempts: { type: Number, default: 1 },
  },
  { timestamps: true },
);
syncErrorSchema.index({ connection_id: 1, object_type: 1, record_id: 1 }, { unique: true });
syncErrorSchema.index({ connection_id: 1, ignored: 1, resolved_at: 1 });
export const SyncError = defineModel('SyncError', syncErrorSchema, 'sync_errors');

const ambiguousMatchSchema = new Schema(
  {
    workspace_id: { type: Schema.Types.ObjectId, required: true },
    connection_id: { type: Schema.Types.ObjectId, required: true },
    domain: { type: String, required: true },
    customer_id: { type: Schema.Types.ObjectId, default: null },
    candidates: { type: Schema.Types.Mixed, default: () => [] },
    /** CRM syncs: the source records that claimed the domain ({ external_id, name, url }) */
    records: { type: Schema.Types.Mixed, default: () => [] },
    status: { type: String, enum: ['open', 'resolved'], default: 'open' },
    resolution: { type: Schema.Types.Mixed, default: null },
  },
  { timestamps: true, minimize: false },
);
ambiguousMatchSchema.index({ connection_id: 1, domain: 1 }, { unique: true });
export const AmbiguousMatch = defineModel('AmbiguousMatch', ambiguousMatchSchema, 'ambiguous_matches');

