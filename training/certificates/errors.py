"""Certificate rules that refuse an action, each with a message for the person."""
from ..errors import DomainError


class CertificateError(DomainError):
    """Base for the certificates area."""


class NoCertificate(CertificateError):
    message = "There is no certificate for this booking: certificates are for people marked as attended"


class EvaluationNeeded(CertificateError):
    message = "Complete the after-course evaluation to get your certificate"


class NotSessionStaff(CertificateError):
    message = "Only the session's trainers and coordinators can do this"


class NotIssued(CertificateError):
    message = "This certificate has not been issued yet"
