export const MESSAGE_TYPE_CLOSED = '_eric_channel_closed';
export const MESSAGE_TYPE_END_OF_STREAM = '_eric_channel_eof';
export const MESSAGE_TYPE_INTERNAL_ERROR = '_eric_error';
