/**
 * Errors of the archive and delivery step. Step Functions matches Retry/Catch on `name`, so each
 * name says whether a retry can help: DeliverySendError (the mail server refused or could not be
 * reached before anything was sent) is retried; ReportIncompleteError, DeliveryInDoubtError and
 * PartialDeliveryError are not, they go to ops.
 */

/** The archived report is missing a part or a part is not what it claims to be: nothing is sent. */
export class ReportIncompleteError extends Error {
  override name = 'ReportIncompleteError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The message was definitely not accepted (the server answered with an error): safe to retry. */
export class DeliverySendError extends Error {
  override name = 'DeliverySendError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * A previous attempt claimed this report and period and never confirmed the send (it may or may
 * not have gone out). Sending again could mail executives twice, so a person decides: check the
 * mailbox or the SES logs, then re-run with `force`.
 */
export class DeliveryInDoubtError extends Error {
  override name = 'DeliveryInDoubtError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The message went out, but the mail server refused some recipients (e.g. 550 on RCPT TO). The
 * delivery record says who got it and who was refused with the server's reply; a re-run sends
 * only to those who did not get it.
 */
export class PartialDeliveryError extends Error {
  override name = 'PartialDeliveryError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Reading or writing the archive failed. */
export class ArchiveError extends Error {
  override name = 'ArchiveError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
