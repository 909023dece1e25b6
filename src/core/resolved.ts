/** One shared settled promise: in-process queues return it so a push allocates nothing. */
export const RESOLVED: Promise<void> = Promise.resolve();
