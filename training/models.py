"""Every area's models, imported so metadata (and Alembic) sees all tables."""
from .accounts.models import Agency, ConsentRecord, ConsentSource, Role, RoleGrant, Sector, User  # noqa: F401
from .attendance.models import Attendance, AttendanceOutcome, Register  # noqa: F401
from .audit.models import AuditEvent  # noqa: F401, E402
from .booking.models import Booking, BookingStatus  # noqa: F401
from .catalogue.models import Course, CourseFormat, CourseSession, CourseTheme, Level, SessionStatus, Theme  # noqa: F401
from .certificates.models import Certificate  # noqa: F401, E402
from .compliance.models import AgencyReturn, ReturnEvent, ReturnLine, ReturnRound  # noqa: F401, E402
from .evaluation.models import Answer, Evaluation, QualityReview, Question, QuestionSet  # noqa: F401, E402
from .history.models import HistoryImport  # noqa: F401, E402
from .needs.models import Requirement, TnaReview, WorkforceGroup, WorkforceGroupSector, WorkforceMembership  # noqa: F401, E402, E501
from .notifications.models import Bulletin, Outbox  # noqa: F401, E402
from .security import SignedOutSession  # noqa: F401, E402
from .suggestions.models import CourseSuggestion, SuggestionEvent, SuggestionStatus  # noqa: F401, E402
