// Gives the calling test file its own database on the run's engine (or on the MongoDB named
// by PIVOTAL_TEST_MONGODB_URI), connected through the same mongoose connection code the app
// uses, and drops it afterwards. Like every entry point, it composes the process first.
import crypto from 'node:crypto';
import mongoose from 'mongoose';
import { afterAll, beforeAll, inject } from 'vitest';
import { connectMongoose, syncIndexes } from '../../core/db/connection.ts';
import { compose } from '../../core/app/composition.ts';

export interface TestDatabase {
  /** the URI of this file's database (hand it to subprocesses as MONGODB_URI) */
  readonly uri: string;
  readonly name: string;
}

export function testDatabaseUri(name: string): string {
  return `${inject('mongoBaseUri')}/${name}${inject('mongoUriOptions')}`;
}

export function useTestDatabase(label = 'db'): TestDatabase {
  const name = `t_${label.replace(/[^a-z0-9]/gi, '_').slice(0, 30)}_${crypto.randomBytes(4).toString('hex')}`;
  const uri = testDatabaseUri(name);
  beforeAll(async () => {
    compose(); // as every entry point does: the connectors are installed before anything runs
    await connectMongoose(uri);
    await syncIndexes();
  });
  afterAll(async () => {
    await mongoose.connection.dropDatabase().catch(() => {});
    await mongoose.disconnect();
  });
  return { uri, name };
}
