// Builds the migrated database templates once per run (filled in with the store).
export default async function setup(): Promise<void> {}
