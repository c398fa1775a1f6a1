// The domains' messages build on the wire and common ones (Money, Timestamp, paging)
// and on the message runtime: whoever imports the domains' messages gets those too.
@_exported public import O2OProtobuf
@_exported public import O2ORPCMessages
