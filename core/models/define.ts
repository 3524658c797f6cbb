// Registers a mongoose model. The Remix dev build and tests may evaluate a model file
// twice; mongoose refuses to compile one name twice, so the older registration is
// dropped first (model objects already handed out keep working).
import mongoose, { type Schema } from 'mongoose';

export function defineModel<S extends Schema>(name: string, schema: S, collection?: string) {
  if (mongoose.models[name]) mongoose.deleteModel(name);
  return mongoose.model(name, schema, collection);
}
