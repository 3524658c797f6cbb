// Placeholder: replaced by the FerretDB launcher once core/db exists.
export default async function setup(): Promise<void> {}
