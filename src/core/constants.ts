export const MESSAGE_TYPE_CLOSED = '_eric_channel_closed';
export const MESSAGE_TYPE_END_OF_STREAM = '_eric_channel_eof';
export const MESSAGE_TYPE_INTERNAL_ERROR = '_eric_error';
/**
 * The event an SSE stream resuming from `Last-Event-ID` starts with when events after that id are no
 * longer in the listener's replay history: its data is `{"lastEventId":<asked>,"firstAvailableId":<id>}`,
 * its id the one before `firstAvailableId`; the events still held follow.
 */
export const MESSAGE_TYPE_HISTORY_GAP = '_eric_history_gap';
