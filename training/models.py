"""Every area's models, imported so metadata (and Alembic) sees all tables."""
from .accounts.models import Agency, Role, RoleGrant, Sector, User  # noqa: F401
from .attendance.models import Attendance, AttendanceOutcome, Register  # noqa: F401
from .booking.models import Booking, BookingStatus  # noqa: F401
from .catalogue.models import Course, CourseFormat, CourseSession, CourseTheme, Level, SessionStatus, Theme  # noqa: F401
