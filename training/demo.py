"""Demo data: a realistic partnership for trying the service.

Everything is made by a seeded random.Random and dated relative to today, so a fresh
database always looks current and two loads on the same day give the same data. The
agencies, courses and numbers follow a London borough partnership's 2019-20 annual report
(chapter 6, "Training and development"), moved to the fictional borough of Thameside.
"""
from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import NamedTuple

import click
from flask import current_app
from sqlalchemy import insert, select

from .accounts.models import Agency, ConsentRecord, ConsentSource, Role, Sector, User
from .attendance.models import Attendance, AttendanceOutcome, Register
from .booking.models import Booking, BookingStatus
from .catalogue.models import Course, CourseFormat, CourseSession, Level, Theme
from .catalogue.services import default_booking_close, default_session_kind
from .certificates.services import issue_due
from .compliance.demo import add_demo_returns
from .db import utcnow, write_transaction
from .errors import DomainError
from .evaluation.models import (
    Answer,
    Evaluation,
    EvaluationStatus,
    OutcomeMet,
    OverallRating,
    QualityReview,
    Question,
    QuestionSet,
    ReviewStatus,
    Stage,
)
from .evaluation.questions import NO, YES
from .evaluation.results import LOW_RATINGS, Share, financial_year
from .evaluation.reviews import breaches_threshold
from .evaluation.services import current_question_set
from .extensions import db
from .needs.demo import add_needs_demo
from .notifications.models import Bulletin
from .timeutil import is_working_day, london_to_utc, to_london

#: The password of every demo account. It is published in the README: never load demo data
#: into a live service.
DEMO_PASSWORD = "Thameside-training-demo"
COORDINATOR_EMAIL = "coordinator@demo.example"
TRAINER_EMAIL = "trainer@demo.example"
PROFESSIONAL_EMAIL = "professional@demo.example"
COLLEAGUE_EMAIL = "colleague@demo.example"
LEAD_EMAIL = "lead@demo.example"
SCRUTINEER_EMAIL = "scrutineer@demo.example"
SEED = 2020

GENERATED_PEOPLE = 220
TERM_DAYS = 105  # about 15 weeks of upcoming sessions


class DemoDataRefused(DomainError):
    """Demo data cannot be loaded into this database."""


# ---------------------------------------------------------------------------
# The partnership
# ---------------------------------------------------------------------------

class _AgencySpec(NamedTuple):
    key: str
    name: str
    sector: Sector
    domain: str
    weight: int  # relative share of the generated professionals
    jobs: tuple[str, ...]


_S = Sector
AGENCIES: tuple[_AgencySpec, ...] = (
    _AgencySpec("cssw", "Thameside Council Children's Safeguarding and Social Work", _S.CHILDRENS_SOCIAL_CARE,
                "thameside.gov.example", 16,
                ("Social worker", "Senior social worker", "Advanced practitioner", "Team manager",
                 "Independent reviewing officer", "Child protection conference chair")),
    _AgencySpec("mash", "Thameside Multi-Agency Safeguarding Hub (MASH)", _S.CHILDRENS_SOCIAL_CARE,
                "mash.thameside.gov.example", 5,
                ("MASH social worker", "MASH information officer", "MASH team manager")),
    _AgencySpec("early-help", "Thameside Early Help Service", _S.CHILDRENS_SOCIAL_CARE,
                "earlyhelp.thameside.gov.example", 8,
                ("Family support worker", "Early help practitioner", "Parenting practitioner",
                 "Family group conference coordinator")),
    _AgencySpec("learning", "Thameside Learning (school improvement service)", _S.EDUCATION,
                "thamesidelearning.example", 3,
                ("Education safeguarding adviser", "Education welfare officer", "School improvement partner")),
    _AgencySpec("marsh-lane", "Marsh Lane Primary School", _S.EDUCATION, "marshlane.sch.example", 7,
                ("Class teacher", "Designated safeguarding lead", "Special educational needs coordinator (SENCO)",
                 "Teaching assistant", "Learning mentor")),
    _AgencySpec("st-brides", "St Bride's Church of England Primary School", _S.EDUCATION,
                "stbrides.sch.example", 5,
                ("Class teacher", "Deputy head teacher", "Teaching assistant", "Family liaison officer")),
    _AgencySpec("riverside-academy", "Riverside Academy", _S.EDUCATION, "riversideacademy.sch.example", 9,
                ("Head of year", "Designated safeguarding lead", "Pastoral manager", "Class teacher",
                 "Attendance officer")),
    _AgencySpec("college", "Thameside College", _S.EDUCATION, "thamesidecollege.example", 5,
                ("Lecturer", "Student welfare adviser", "Designated safeguarding lead")),
    _AgencySpec("early-years", "Thameside Integrated Early Years Service", _S.EARLY_YEARS,
                "earlyyears.thameside.gov.example", 6,
                ("Early years practitioner", "Children's centre manager", "Family hub worker")),
    _AgencySpec("acorns", "Little Acorns Day Nursery", _S.EARLY_YEARS, "littleacorns.example", 3,
                ("Nursery practitioner", "Nursery manager", "Room leader")),
    _AgencySpec("childminders", "Thameside Childminders Network", _S.EARLY_YEARS, "childminders.example", 3,
                ("Childminder", "Network coordinator")),
    _AgencySpec("icb", "North Thames Integrated Care Board", _S.HEALTH, "ntics.nhs.example", 2,
                ("Designated nurse for safeguarding children", "Named GP for safeguarding",
                 "Safeguarding children adviser")),
    _AgencySpec("hospital", "Thameside and Riverside Hospitals NHS Foundation Trust", _S.HEALTH,
                "trhospitals.nhs.example", 10,
                ("Paediatric nurse", "Midwife", "Emergency department nurse", "Consultant paediatrician",
                 "Named nurse for safeguarding children")),
    _AgencySpec("camhs", "Thameside Child and Adolescent Mental Health Service (CAMHS)", _S.HEALTH,
                "camhs.nhs.example", 5,
                ("CAMHS clinician", "Clinical psychologist", "Mental health nurse", "Family therapist")),
    _AgencySpec("community-health", "Thameside Community Health Services", _S.HEALTH,
                "communityhealth.nhs.example", 8,
                ("Health visitor", "School nurse", "Family nurse", "Community paediatric nurse")),
    _AgencySpec("gp", "Thameside GP practices", _S.HEALTH, "gp.nhs.example", 4,
                ("GP", "Practice nurse", "Practice manager")),
    _AgencySpec("mps", "Metropolitan Police Service, Thameside Borough Command Unit", _S.POLICE,
                "met.police.example", 6,
                ("Police constable", "Detective constable", "Safer schools officer", "Police sergeant",
                 "Public protection officer")),
    _AgencySpec("btp", "British Transport Police", _S.POLICE, "btp.police.example", 2,
                ("Police constable", "Safeguarding officer")),
    _AgencySpec("probation", "Probation Service, Thameside delivery unit", _S.PROBATION_JUSTICE,
                "probation.justice.example", 4,
                ("Probation officer", "Probation services officer", "Senior probation officer")),
    _AgencySpec("youth-justice", "Thameside Youth Justice Service", _S.PROBATION_JUSTICE,
                "yjs.thameside.gov.example", 4,
                ("Youth justice worker", "Youth justice team manager", "Restorative justice worker")),
    _AgencySpec("cafcass", "Cafcass (Children and Family Court Advisory and Support Service)",
                _S.PROBATION_JUSTICE, "cafcass.example", 2,
                ("Family court adviser", "Service manager")),
    _AgencySpec("housing", "Thameside Council Housing and Tenancy Services", _S.HOUSING,
                "housing.thameside.gov.example", 4,
                ("Housing officer", "Tenancy sustainment officer", "Homelessness prevention officer")),
    _AgencySpec("harbour", "Harbour Housing Association", _S.HOUSING, "harbourhousing.example", 3,
                ("Neighbourhood officer", "Supported housing worker")),
    _AgencySpec("nspcc", "NSPCC", _S.VOLUNTARY_COMMUNITY, "nspcc.example", 2,
                ("Children's services practitioner", "Service manager")),
    _AgencySpec("childrens-society", "The Children's Society", _S.VOLUNTARY_COMMUNITY,
                "childrenssociety.example", 3,
                ("Exploitation project worker", "Youth worker", "Project manager")),
    _AgencySpec("safety-net", "Thameside Safety Net (domestic abuse service)", _S.VOLUNTARY_COMMUNITY,
                "thamesidesafetynet.example", 3,
                ("Independent domestic violence adviser (IDVA)", "Children and young people's worker",
                 "Refuge worker")),
    _AgencySpec("forward-steps", "Forward Steps young people's substance misuse service", _S.VOLUNTARY_COMMUNITY,
                "forwardsteps.example", 2,
                ("Substance misuse worker", "Young people's practitioner")),
    _AgencySpec("youth-clubs", "Thameside Youth Clubs Network", _S.VOLUNTARY_COMMUNITY,
                "thamesideyouth.example", 3,
                ("Youth worker", "Sports coach", "Volunteer coordinator")),
    _AgencySpec("supplementary-schools", "Thameside Supplementary Schools Forum", _S.FAITH,
                "supplementaryschools.example", 3,
                ("Supplementary school teacher", "Supplementary school head teacher", "Safeguarding lead")),
    _AgencySpec("faith-leaders", "Thameside Faith Leaders Network", _S.FAITH, "thamesidefaith.example", 3,
                ("Faith leader", "Youth leader", "Faith group safeguarding lead")),
    _AgencySpec("partnership", "Thameside Safeguarding Children Partnership team", _S.OTHER,
                "tscp.example", 1,
                ("Business support officer", "Quality assurance officer")),
    _AgencySpec("community-safety", "Thameside Council Community Safety Service", _S.OTHER,
                "communitysafety.thameside.gov.example", 3,
                ("Community safety officer", "Anti-social behaviour officer", "Prevent coordinator")),
    _AgencySpec("leisure", "Thameside Leisure Trust", _S.OTHER, "thamesideleisure.example", 2,
                ("Leisure centre manager", "Swimming instructor", "Sports development officer")),
)


class _PersonSpec(NamedTuple):
    key: str
    email: str
    name: str
    agency: str
    job_title: str
    roles: tuple[Role, ...]


_PRO, _TRAINER, _COORD = Role.PROFESSIONAL, Role.TRAINER, Role.COORDINATOR
#: Demo accounts with fixed emails (listed in the README), then the partnership's trainers.
PEOPLE: tuple[_PersonSpec, ...] = (
    _PersonSpec("coordinator", COORDINATOR_EMAIL, "Grace Okafor", "partnership",
                "Learning and development coordinator", (_PRO, _COORD)),
    _PersonSpec("trainer", TRAINER_EMAIL, "Sam Adeyemi", "partnership",
                "Multi-agency safeguarding trainer", (_PRO, _TRAINER)),
    _PersonSpec("professional", PROFESSIONAL_EMAIL, "Jordan Ellis", "marsh-lane",
                "Class teacher and deputy designated safeguarding lead", (_PRO,)),
    _PersonSpec("colleague", COLLEAGUE_EMAIL, "Priya Nair", "marsh-lane", "Teaching assistant", (_PRO,)),
    _PersonSpec("lead", LEAD_EMAIL, "Olu Adebayo", "marsh-lane", "School business manager and training lead",
                (_PRO, Role.AGENCY_LEAD)),
    _PersonSpec("scrutineer", SCRUTINEER_EMAIL, "Margaret Hale", "partnership", "Independent Scrutineer",
                (_PRO, Role.SCRUTINEER)),
    _PersonSpec("lado", "joanne.fraser@thameside.gov.example", "Joanne Fraser", "cssw",
                "Local Authority Designated Officer (LADO)", (_PRO, _TRAINER)),
    _PersonSpec("education", "andrew.kowalski@thamesidelearning.example", "Andrew Kowalski", "learning",
                "Education safeguarding adviser", (_PRO, _TRAINER)),
    _PersonSpec("camhs", "priya.raman@camhs.nhs.example", "Dr Priya Raman", "camhs",
                "Consultant clinical psychologist", (_PRO, _TRAINER)),
    _PersonSpec("safety-net", "kerry.walsh@thamesidesafetynet.example", "Kerry Walsh", "safety-net",
                "IDVA service manager", (_PRO, _TRAINER)),
    _PersonSpec("exploitation", "marcus.bell@childrenssociety.example", "Marcus Bell", "childrens-society",
                "Exploitation practice lead", (_PRO, _TRAINER)),
    _PersonSpec("substance", "tom.haddad@forwardsteps.example", "Tom Haddad", "forward-steps",
                "Young people's substance misuse lead", (_PRO, _TRAINER)),
    _PersonSpec("prevent", "nadia.bashir@communitysafety.thameside.gov.example", "Nadia Bashir",
                "community-safety", "Prevent coordinator", (_PRO, _TRAINER)),
    _PersonSpec("named-nurse", "fatima.sesay@trhospitals.nhs.example", "Fatima Sesay", "hospital",
                "Named nurse for safeguarding children", (_PRO, _TRAINER)),
    _PersonSpec("nspcc", "rachel.green@nspcc.example", "Rachel Green", "nspcc",
                "Children's services practitioner", (_PRO, _TRAINER)),
    _PersonSpec("early-help", "helen.oconnor@earlyhelp.thameside.gov.example", "Helen O'Connor", "early-help",
                "Early help practice manager", (_PRO, _TRAINER)),
)

FIRST_NAMES = (
    "Aisha", "Amara", "Adam", "Ahmed", "Alice", "Amelia", "Andre", "Anna", "Ben", "Bethany", "Chloe", "Chidi",
    "Daniel", "David", "Deborah", "Eilidh", "Ella", "Emeka", "Emily", "Femi", "Gemma", "George", "Hannah",
    "Harpreet", "Hassan", "Imran", "Isabel", "Jack", "James", "Jasmine", "Joseph", "Kate", "Kwame", "Laura",
    "Leah", "Liam", "Lucy", "Maria", "Mark", "Maryam", "Matthew", "Megan", "Mohammed", "Naomi", "Nathan",
    "Nikhil", "Olivia", "Omar", "Patrick", "Rebecca", "Rhys", "Rosa", "Ruth", "Ryan", "Sadia", "Samira",
    "Sarah", "Simon", "Sophie", "Tariq", "Thomas", "Tobi", "Yasmin", "Yusuf", "Zara", "Zainab", "Oliver",
    "Niamh", "Siobhan", "Kieran", "Agnieszka", "Marta", "Lukas", "Elif", "Mehmet", "Ayesha", "Comfort", "Dev",
)
LAST_NAMES = (
    "Adams", "Ahmed", "Akhtar", "Ali", "Allen", "Anderson", "Asante", "Bailey", "Baker", "Begum", "Bennett",
    "Brown", "Campbell", "Chen", "Clarke", "Collins", "Cooper", "Davies", "Desai", "Edwards", "Evans",
    "Francis", "Garcia", "Hall", "Harris", "Hughes", "Hussain", "Islam", "Jackson", "James", "Johnson",
    "Jones", "Kaur", "Kelly", "Khan", "King", "Kowalczyk", "Lewis", "Martin", "Mensah", "Miah", "Mitchell",
    "Moore", "Morris", "Murphy", "Nguyen", "Nowak", "O'Brien", "Okonkwo", "Owusu", "Patel", "Phillips",
    "Price", "Rahman", "Reid", "Roberts", "Robinson", "Rossi", "Santos", "Scott", "Shah", "Singh", "Smith",
    "Taylor", "Thomas", "Thompson", "Turner", "Walker", "Ward", "Watson", "White", "Williams", "Wilson",
    "Wood", "Wright", "Yilmaz", "Young",
)


# ---------------------------------------------------------------------------
# The training programme
# ---------------------------------------------------------------------------

#: Courses whose bookings need the line manager's approval.
APPROVAL_COURSES = frozenset({"dsl-new"})


class _CourseSpec(NamedTuple):
    key: str
    title: str
    level: Level
    minutes: int
    format: CourseFormat
    themes: tuple[Theme, ...]
    refresher_months: int | None
    runs_a_year: int
    trainers: tuple[str, ...]  # keys of PEOPLE; the first usually leads
    summary: str
    outcomes: tuple[str, ...]


_L, _F, _T = Level, CourseFormat, Theme
FULL_DAY, HALF_DAY = 390, 180  # 9:30am to 4pm; 9:30am to 12:30pm or 1:30pm to 4:30pm
COURSES: tuple[_CourseSpec, ...] = (
    _CourseSpec(
        "intro", "Introduction to safeguarding children", _L.LEVEL_1, 120, _F.VIRTUAL,
        (_T.CHILD_PROTECTION,), 36, 4, ("trainer",),
        "An introduction for anyone who works or volunteers with children, young people or their families. "
        "It covers what abuse and neglect are, how to spot the signs and what to do when you are worried "
        "about a child. It suits new staff and people whose work brings occasional contact with children.",
        ("Describe the four categories of abuse and the signs of neglect",
         "Explain why you must share a concern, even when you are not sure",
         "Know who to contact in Thameside, including the MASH and the out-of-hours team",
         "Record a concern clearly and factually")),
    _CourseSpec(
        "working-together", "Working together to safeguard children", _L.LEVEL_2, FULL_DAY, _F.FACE_TO_FACE,
        (_T.CHILD_PROTECTION,), 36, 4, ("trainer", "lado"),
        "A full day for practitioners who work directly with children and families. It follows one family "
        "from a first concern to a child protection conference, so you see what each agency does and how "
        "the Thameside threshold of need guidance is applied.",
        ("Apply the Thameside threshold of need guidance to a concern",
         "Make a clear referral to the Multi-Agency Safeguarding Hub (MASH)",
         "Explain what happens in a strategy discussion, a section 47 enquiry and a child protection conference",
         "Keep the child's voice and lived experience at the centre of your work",
         "Know how to escalate when you disagree with another agency's decision")),
    _CourseSpec(
        "advanced-cp", "Advanced child protection: multi-agency practice", _L.LEVEL_3, FULL_DAY,
        _F.FACE_TO_FACE, (_T.CHILD_PROTECTION,), 36, 3, ("trainer",),
        "For practitioners and managers who take part in child protection enquiries, plans and core groups. "
        "Case studies drawn from local and national safeguarding practice reviews are used to practise "
        "professional curiosity and respectful challenge.",
        ("Analyse risk and protective factors and present them clearly to colleagues",
         "Use professional curiosity and respectful challenge with families and other agencies",
         "Consider how identity, race, religion and culture shape a child's experience",
         "Apply learning from recent safeguarding practice reviews to your own work")),
    _CourseSpec(
        "conferences", "Child protection conferences and core groups: taking part with confidence",
        _L.LEVEL_3, HALF_DAY, _F.FACE_TO_FACE, (_T.CHILD_PROTECTION,), None, 2, ("trainer",),
        "A half day on preparing for and taking part in initial and review child protection conferences and "
        "core group meetings. It covers writing a report for conference, giving your view when the family "
        "is in the room, and agreeing plans with clear actions and dates.",
        ("Write a conference report that is clear, factual and in plain English",
         "Share your professional view with confidence when the family is present",
         "Contribute to a child protection plan with specific actions and dates",
         "Understand the role of the chair and of the core group after conference")),
    _CourseSpec(
        "dsl-new", "Designated safeguarding lead: new to the role", _L.DSL, FULL_DAY, _F.FACE_TO_FACE,
        (_T.CHILD_PROTECTION,), 24, 2, ("education",),
        "For designated safeguarding leads and deputies in schools, colleges, early years settings and "
        "voluntary organisations who are new to the role. It covers the statutory duties of the role, "
        "keeping records, making referrals and supporting staff.",
        ("Describe the responsibilities of a designated safeguarding lead under statutory guidance",
         "Keep safeguarding records that are accurate, secure and easy to follow",
         "Decide when to seek advice, offer early help or make a referral to the MASH",
         "Lead a whole-setting approach to safeguarding, including staff induction and training")),
    _CourseSpec(
        "dsl-refresher", "Designated safeguarding lead refresher", _L.DSL, HALF_DAY, _F.VIRTUAL,
        (_T.CHILD_PROTECTION, _T.ONLINE_SAFETY), 24, 3, ("education",),
        "A half-day update for experienced designated safeguarding leads. It covers changes to statutory "
        "guidance and local procedures, themes from the partnership's audit of school safeguarding, and "
        "time to reflect on difficult cases with peers.",
        ("Know the latest changes to statutory guidance and local procedures",
         "Apply learning from the partnership's audit of safeguarding in schools",
         "Reflect on complex cases with designated safeguarding leads from other settings")),
    _CourseSpec(
        "neglect", "Recognising and responding to neglect", _L.LEVEL_2, FULL_DAY, _F.FACE_TO_FACE,
        (_T.NEGLECT, _T.CHILD_PROTECTION), 36, 3, ("trainer", "early-help"),
        "Neglect is the most common reason for a child protection plan. This course helps practitioners see "
        "the build-up of harm over time and use the Graded Care Profile 2 to assess the care a child "
        "receives and measure change.",
        ("Recognise the signs and cumulative harm of neglect at every age",
         "Use the Graded Care Profile 2 (GCP2) to assess the quality of care",
         "Include fathers and other adults in the household in your assessment",
         "Follow up when children are not brought to appointments",
         "Avoid drift by agreeing clear timescales for change")),
    _CourseSpec(
        "domestic-abuse", "Domestic abuse and its impact on children", _L.LEVEL_2, FULL_DAY, _F.FACE_TO_FACE,
        (_T.DOMESTIC_ABUSE,), 36, 3, ("safety-net",),
        "Children who live with domestic abuse are victims in their own right. This course explores "
        "coercive control, the effect of abuse on children and parenting, and how to respond safely. "
        "Specialist domestic abuse advocates co-deliver it.",
        ("Describe the forms of domestic abuse, including coercive and controlling behaviour",
         "Understand the impact of domestic abuse on children at different ages",
         "Ask about domestic abuse safely and respond well to a disclosure",
         "Know the local services, including the independent domestic violence advisers")),
    _CourseSpec(
        "marac", "Domestic abuse: risk assessment and MARAC", _L.LEVEL_3, HALF_DAY, _F.VIRTUAL,
        (_T.DOMESTIC_ABUSE,), 36, 2, ("safety-net",),
        "For practitioners who assess risk in domestic abuse cases. It covers the DASH risk checklist, "
        "safety planning, and how to refer to and take part in the Multi-Agency Risk Assessment "
        "Conference (MARAC).",
        ("Complete the DASH risk checklist with a victim-survivor",
         "Identify high-risk cases and refer them to the MARAC",
         "Contribute to a safety plan that protects the children in the household")),
    _CourseSpec(
        "csa", "Child sexual abuse: starting the conversation", _L.LEVEL_3, FULL_DAY, _F.FACE_TO_FACE,
        (_T.CHILD_SEXUAL_ABUSE,), 36, 2, ("nspcc", "named-nurse"),
        "Most child sexual abuse is not reported at the time it happens. This course builds the confidence "
        "to notice the signs, start a conversation with a child or young person, and respond to a "
        "disclosure in a trauma-informed way.",
        ("Recognise indicators of child sexual abuse inside and outside the family",
         "Start a conversation with a child when you are worried but have no disclosure",
         "Respond to a disclosure without leading questions and record it accurately",
         "Know when and how to ask the specialist consultation service for advice")),
    _CourseSpec(
        "exploitation", "Child exploitation and contextual safeguarding", _L.LEVEL_3, FULL_DAY,
        _F.FACE_TO_FACE, (_T.EXPLOITATION, _T.VULNERABLE_ADOLESCENTS, _T.YOUTH_VIOLENCE), 24, 3,
        ("exploitation",),
        "Developed with The Children's Society, this course covers child criminal exploitation (CCE), "
        "including county lines, and child sexual exploitation (CSE). It explains contextual safeguarding: "
        "assessing and reducing risk in the places and peer groups where harm happens, not only at home.",
        ("Recognise the signs of criminal and sexual exploitation and modern slavery",
         "Use the Thameside exploitation risk assessment tool",
         "Map the risks a young person faces outside the family",
         "Know when to refer to the National Referral Mechanism (NRM)",
         "Describe the multi-agency exploitation meeting and your part in it")),
    _CourseSpec(
        "youth-violence", "Serious youth violence: a multi-agency workshop", _L.LEVEL_3, HALF_DAY, _F.WORKSHOP,
        (_T.YOUTH_VIOLENCE, _T.VULNERABLE_ADOLESCENTS), None, 1, ("exploitation", "substance"),
        "A workshop for practitioners who work with adolescents at risk of serious violence. The police, "
        "the youth justice service and youth workers share the local picture, then groups work through "
        "cases together to plan a joined-up response.",
        ("Understand the local picture of serious youth violence and knife crime",
         "Identify young people at risk of becoming victims or perpetrators",
         "Plan a joined-up response across agencies for a real case")),
    _CourseSpec(
        "mental-health", "Adolescent mental health and self-harm", _L.LEVEL_2, HALF_DAY, _F.FACE_TO_FACE,
        (_T.MENTAL_HEALTH, _T.VULNERABLE_ADOLESCENTS), 36, 3, ("camhs",),
        "Delivered by Thameside CAMHS, this session helps practitioners notice when a young person's mental "
        "health is at risk, respond to self-harm and suicidal thoughts, and know which service to turn to.",
        ("Recognise common mental health difficulties in adolescence",
         "Respond calmly and safely when a young person tells you they self-harm",
         "Ask directly about suicidal thoughts and agree a safety plan",
         "Know the local routes to support, including mental health support teams in schools")),
    _CourseSpec(
        "substance-misuse", "Young people and substance misuse", _L.LEVEL_2, HALF_DAY, _F.FACE_TO_FACE,
        (_T.SUBSTANCE_MISUSE, _T.VULNERABLE_ADOLESCENTS), 36, 2, ("substance",),
        "Designed by the Forward Steps young people's substance misuse service, this session builds "
        "confidence in spotting substance misuse and talking to young people about their drug and alcohol "
        "use. It also covers the links with exploitation and youth violence.",
        ("Identify the signs of drug and alcohol misuse in young people",
         "Talk to young people about their substance use without judgement",
         "Understand the links between drug supply, exploitation and youth violence",
         "Refer a young person to the Forward Steps service")),
    _CourseSpec(
        "wrap", "Workshop to Raise Awareness of Prevent (WRAP)", _L.LEVEL_1, 90, _F.VIRTUAL,
        (_T.PREVENT,), 36, 4, ("prevent",),
        "The Home Office workshop on the Prevent duty, delivered by the Thameside Prevent coordinator. It "
        "explains how people can be drawn into terrorism, how grooming happens online and offline, and how "
        "to raise a concern.",
        ("Describe the Prevent duty and how it applies to your role",
         "Recognise vulnerability to radicalisation, including grooming online",
         "Know how to raise a concern and how the Channel panel works")),
    _CourseSpec(
        "fgm", "Female genital mutilation (FGM): recognising risk and the duty to report", _L.LEVEL_2,
        HALF_DAY, _F.FACE_TO_FACE, (_T.FGM,), 36, 2, ("named-nurse",),
        "Explains female genital mutilation, which girls may be at risk, and the law. It covers the "
        "mandatory reporting duty for health professionals, teachers and social workers, and how to talk "
        "to families with sensitivity.",
        ("Describe FGM, its types and its consequences for health",
         "Recognise signs that a girl may be at risk, including before the summer holidays",
         "Explain the mandatory reporting duty and FGM protection orders",
         "Talk to families about FGM in a sensitive and culturally informed way")),
    _CourseSpec(
        "faith", "Abuse linked to faith or belief", _L.LEVEL_2, HALF_DAY, _F.FACE_TO_FACE,
        (_T.FAITH_AND_BELIEF,), None, 2, ("prevent", "named-nurse"),
        "For practitioners, faith leaders and supplementary school staff. It looks at abuse linked to "
        "beliefs in witchcraft, spirit possession and ritual, and how faith settings and statutory "
        "agencies can work together to keep children safe.",
        ("Recognise abuse linked to a belief in witchcraft or spirit possession",
         "Understand the part faith settings play in keeping children safe",
         "Work respectfully with families and communities while putting the child first",
         "Know how to share a concern and where to get specialist advice")),
    _CourseSpec(
        "safer-recruitment", "Safer recruitment", _L.SPECIALIST, FULL_DAY, _F.FACE_TO_FACE,
        (_T.SAFER_RECRUITMENT,), 60, 2, ("lado", "education"),
        "For anyone who recruits staff or volunteers to work with children. It covers each stage of safe "
        "recruitment, from the advert to induction, including references, DBS checks and a culture of "
        "vigilance that deters people who pose a risk.",
        ("Plan a recruitment process that deters and identifies unsuitable applicants",
         "Scrutinise application forms and references for gaps and concerns",
         "Ask interview questions that explore attitudes to safeguarding",
         "Apply the rules on DBS checks and barred list checks")),
    _CourseSpec(
        "lado", "Managing allegations against staff: the role of the LADO", _L.LEVEL_3, 150, _F.VIRTUAL,
        (_T.SAFER_RECRUITMENT, _T.CHILD_PROTECTION), 36, 3, ("lado",),
        "A briefing from the Local Authority Designated Officer (LADO) for managers and designated "
        "safeguarding leads. It explains what to do when an allegation is made against someone who works "
        "with children, including volunteers, and how to handle low-level concerns.",
        ("Know when an allegation meets the threshold for referral to the LADO",
         "Take the right first steps without compromising an investigation",
         "Handle low-level concerns in line with your organisation's policy")),
    _CourseSpec(
        "early-help", "Understanding Early Help in Thameside", _L.LEVEL_1, HALF_DAY, _F.FACE_TO_FACE,
        (_T.EARLY_HELP,), None, 4, ("early-help",),
        "A half-day session from the Early Help service. It explains where early help sits on the threshold "
        "of need, how it differs from statutory safeguarding, and which local services can support "
        "families before problems grow.",
        ("Explain the difference between early help and statutory safeguarding",
         "Know the early help services available to families in Thameside",
         "Complete an early help assessment with a family and lead a team around the family")),
    _CourseSpec(
        "supervision", "Effective safeguarding supervision", _L.SPECIALIST, FULL_DAY, _F.FACE_TO_FACE,
        (_T.SUPERVISION,), None, 2, ("trainer", "camhs"),
        "Commissioned after the partnership's Section 11 audit, this course is for managers and senior "
        "practitioners who supervise staff working with children. It covers reflective supervision, "
        "keeping the child in focus, spotting drift and supporting staff through distressing work.",
        ("Use a reflective model of supervision with a safeguarding focus",
         "Keep the child's lived experience at the centre of case discussions",
         "Spot drift and delay and agree clear actions",
         "Support staff affected by distressing work",
         "Write a supervision policy that meets the partnership's standards")),
    _CourseSpec(
        "online-safety", "Keeping children safe online", _L.LEVEL_2, 150, _F.VIRTUAL,
        (_T.ONLINE_SAFETY, _T.EXPLOITATION), 24, 3, ("nspcc", "education"),
        "Covers the risks children meet online, including grooming, sharing nudes, sextortion, harmful "
        "content and bullying. It gives practical advice on talking to children and parents and on "
        "responding to incidents.",
        ("Describe current online risks, including grooming and sextortion",
         "Respond to an incident of nude image sharing in line with national guidance",
         "Help parents and carers keep their children safe online")),
    _CourseSpec(
        "disabled-children", "Safeguarding disabled children and children with complex medical needs",
        _L.LEVEL_3, HALF_DAY, _F.WORKSHOP, (_T.CHILD_PROTECTION,), None, 1, ("named-nurse", "trainer"),
        "Disabled children are more likely to be abused and less likely to be protected. Designed with "
        "parents and frontline workers, this workshop looks at communication, medical complexity, and "
        "keeping the child's welfare central when many professionals are involved.",
        ("Recognise why disabled children are more vulnerable to abuse",
         "Communicate with children who do not use speech",
         "Work with parents as partners while keeping the child's safety central",
         "Share concerns across health and social care")),
    _CourseSpec(
        "trauma", "Trauma-informed practice with children and families", _L.LEVEL_3, FULL_DAY,
        _F.FACE_TO_FACE, (_T.MENTAL_HEALTH, _T.VULNERABLE_ADOLESCENTS), None, 2, ("camhs",),
        "Explains how adverse childhood experiences and trauma affect development and behaviour, and how to "
        "work in a trauma-informed way. It draws on the partnership's approach to working with adolescents.",
        ("Explain how trauma affects the developing brain and behaviour",
         "Recognise trauma responses that can look like defiance",
         "Build trust using the principles of safety, choice and collaboration",
         "Look after your own wellbeing")),
    _CourseSpec(
        "identity", "Identity, race and culture in safeguarding practice", _L.LEVEL_3, HALF_DAY, _F.WORKSHOP,
        (_T.CHILD_PROTECTION,), None, 2, ("trainer",),
        "The partnership's multi-agency audits found that identity is not always considered in practice. "
        "This workshop explores race, ethnicity, religion and culture in assessments and plans, and how to "
        "talk about them with families.",
        ("Consider a child's identity in every assessment and plan",
         "Recognise how bias and assumptions can affect professional judgement",
         "Have open conversations with families about race, culture and religion")),
)

VENUES = (
    "Committee Room 2\nThameside Civic Centre\n1 High Street\nThameside",
    "Committee Room 4\nThameside Civic Centre\n1 High Street\nThameside",
    "Riverside Community Hall\n12 Wharf Road\nThameside",
    "Training Room 1\nThameside Education Centre\nMill Lane\nThameside",
    "Meeting Room A\nThe Pavilion Family Hub\n40 Park Road\nThameside",
)
WORKSHOP_VENUE = "Council Chamber\nThameside Civic Centre\n1 High Street\nThameside"
CANCELLATION_REASON = (
    "The venue is no longer available on this date. We will add a new date soon: "
    "check the course page or ask the partnership team."
)

#: London wall-clock start times the demo uses, by the length of the course.
FULL_DAY_START = time(9, 30)
HALF_DAY_STARTS = (time(9, 30), time(13, 30))
SHORT_STARTS = (time(10, 0), time(14, 0))
#: Registers of past sessions: most came, some did not attend, a few left early.
OUTCOMES = (AttendanceOutcome.ATTENDED, AttendanceOutcome.PARTIAL, AttendanceOutcome.DID_NOT_ATTEND)
OUTCOME_WEIGHTS = (86, 4, 10)

# ---------------------------------------------------------------------------
# Evaluations (the London model: before, after and follow-up forms)
# ---------------------------------------------------------------------------

#: Who fills in which form. Drafts are forms started and never submitted.
BEFORE_SUBMITTED, BEFORE_DRAFT = 0.74, 0.02
AFTER_SUBMITTED, AFTER_DRAFT = 0.78, 0.03
FOLLOW_UP_SUBMITTED, FOLLOW_UP_DRAFT = 0.5, 0.03
#: Follow-ups are shown for sessions that ended at least this long ago.
FOLLOW_UP_SHOWN_AFTER = timedelta(weeks=8)
#: The course whose latest past session was poorly rated, and the course with a closed review.
POOR_COURSE = "advanced-cp"
REVIEWED_COURSE = "substance-misuse"
QUOTABLE_COMMENTS = 3

_EX, _GOOD, _SAT, _POOR = OverallRating.EXCELLENT, OverallRating.GOOD, OverallRating.SATISFACTORY, OverallRating.POOR
#: Overall ratings by the tone of a session.
OVERALL_WEIGHTS = {
    "usual": ((_EX, _GOOD, _SAT, _POOR), (480, 410, 105, 5)),
    "poor": ((_EX, _GOOD, _SAT, _POOR), (4, 26, 46, 24)),
    "crowded": ((_EX, _GOOD, _SAT, _POOR), (30, 52, 18, 0)),
}
#: Quality ratings (trainer, materials, venue) that go with each overall rating.
QUALITY_RATINGS = {
    _EX: ((4, 5), (25, 75)),
    _GOOD: ((3, 4, 5), (15, 60, 25)),
    _SAT: ((2, 3, 4), (25, 55, 20)),
    _POOR: ((1, 2, 3), (30, 50, 20)),
}
OUTCOME_WEIGHTS_BY_OVERALL = {
    _EX: (95, 5, 0), _GOOD: (84, 15, 1), _SAT: (55, 38, 7), _POOR: (25, 50, 25),
}
_OUTCOME_CHOICES = (OutcomeMet.MET, OutcomeMet.PARTLY, OutcomeMet.NOT_MET)

LEARNING_NEEDS = (
    "A refresher on the local procedures and who to contact.",
    "Clearer understanding of the thresholds and when to refer.",
    "How to have difficult conversations with parents.",
    "How other agencies work, so I know what to expect when I share a concern.",
    "I am new to my role and want to feel more confident about what to do when I am worried.",
    "I want to be more confident about recording concerns.",
    "I would like to understand the signs better and know what to look out for.",
    "More confidence in challenging other professionals when I disagree.",
    "Practical tools I can use in my day-to-day work.",
    "To keep my knowledge up to date for my role.",
    "Understanding the latest guidance and what has changed.",
    "What my responsibilities are and where to get advice.",
)
DO_DIFFERENTLY = (
    "Ask more questions and be professionally curious instead of accepting the first explanation.",
    "Check the threshold guidance before I make a referral and include more detail.",
    "Escalate sooner when I disagree with a decision, using the partnership's procedure.",
    "Keep clearer, factual records and write down what I saw and heard.",
    "Make sure the voice of the child is recorded in everything I write.",
    "Pass on what I learnt at our next team meeting.",
    "Review our setting's policy against what was covered today.",
    "Share information with other agencies sooner when I have a concern.",
    "Speak to our designated safeguarding lead earlier instead of waiting to be sure.",
    "Talk to parents more openly about my concerns and explain what will happen next.",
    "Use the assessment tools from the course in my next supervision.",
    "Use the local contacts list from the course instead of searching for numbers.",
)
COMMENTS = {
    "good": (
        "A really useful day. The trainer knew the subject well and made it relevant to my work.",
        "Brilliant course, one of the best I have been on. I would recommend it to colleagues.",
        "Good mix of presentation and group work. Hearing from other agencies was the most useful part.",
        "Very well organised and the handouts are helpful to refer back to.",
        "The case studies made it feel real and helped me think about my own practice.",
        "The trainer created a safe space to ask questions. Thank you.",
        "Useful refresher. It was good to hear about the local services and who to contact.",
        "I feel much more confident about what to do now.",
    ),
    "neutral": (
        "A lot of content for the time available, but useful overall.",
        "Good content, though some of it repeated what I already knew.",
        "It would help to have the slides sent out afterwards.",
        "Would have liked more time for discussion in small groups.",
    ),
    "poor": (
        "Felt rushed and the trainer read from the slides for most of the morning.",
        "Much of the content was out of date compared with the current guidance.",
        "Not enough time for questions and the group exercises were unclear.",
        "The case study was confusing and we ran out of time to finish it.",
        "Too much theory and not enough about what to do in practice.",
        "The room was cold and it was hard to hear at the back.",
    ),
    "crowded": (
        "Good content, but the session ran over and there was no time for questions.",
        "The room was too small for the number of people.",
        "Too much to fit into half a day. The case study was cut short.",
    ),
}
IMPACT_EXAMPLES = (
    "I now ask directly about home life when I have a worry, and record the answers word for word.",
    "I have been more confident speaking up in multi-agency meetings and asking for decisions to be explained.",
    "I have shared the local contacts and procedures with my team and we use them.",
    "I made a referral with much clearer information, and it was accepted without further questions.",
    "I use the tools from the course in supervision to look at risks and strengths.",
    "Our team reviewed our recording template and added a section on the child's views.",
    "We changed how we follow up when families miss appointments.",
    "I escalated a disagreement using the procedure from the course and it was resolved quickly.",
)
CLOSED_REVIEW = {
    "reason": "Raised by the partnership team: several delegates said this session ran over, left no time "
              "for questions and was held in a room too small for the group.",
    "findings": "The subgroup read the evaluations and spoke to the trainer. The content is accurate and "
                "well received, but there is too much of it for a half day: the case study was cut short "
                "and questions were left unanswered. The room was too small for the number of people booked.",
    "improvements": "Move the section on types of drugs into a handout and keep 25 minutes for the case "
                    "study and 10 minutes for questions. Book a larger room for groups of more than 16.",
    "trainer_response": "Agreed. I have moved the drug types section into a handout and rebuilt the timings "
                        "so that the case study has 25 minutes. Future sessions are booked in a larger "
                        "room at the Education Centre.",
}


# ---------------------------------------------------------------------------
# Building it
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class DemoSummary:
    """What a load created."""

    agencies: int
    courses: int
    past_sessions: int
    upcoming_sessions: int
    people: int
    bookings: int
    attendances: int
    evaluations: int = 0
    reviews: int = 0

    def describe(self) -> str:
        return (
            f"Loaded demo data: {self.agencies} agencies, {self.courses} courses, "
            f"{self.past_sessions} past and {self.upcoming_sessions} upcoming sessions, "
            f"{self.people} people, {self.bookings} bookings, {self.attendances} attendance records, "
            f"{self.evaluations} evaluation forms and {self.reviews} quality reviews.\n"
            f"Sign in as {COORDINATOR_EMAIL}, {TRAINER_EMAIL} or {PROFESSIONAL_EMAIL} "
            f"with the password {DEMO_PASSWORD}"
        )


class _Builder:
    """Creates the objects in memory; the caller flushes them in one transaction."""

    def __init__(self, now: datetime, rng: random.Random, hash_method: str, offer_hours: int) -> None:
        self.now = now
        self.today = to_london(now).date()
        self.rng = rng
        self.hash_method = hash_method
        self.offer_hours = offer_hours
        self.agencies: dict[str, Agency] = {}
        self.domains: dict[str, str] = {}
        self.named: dict[str, User] = {}
        self.pool: list[User] = []  # generated professionals, who fill the sessions
        self.courses: dict[str, Course] = {}
        self.sessions: list[CourseSession] = []
        self.session_course: dict[CourseSession, str] = {}
        self.bookings: list[Booking] = []
        self.attendances: list[Attendance] = []
        self.registers: list[Register] = []
        self.evaluations: list[Evaluation] = []
        self.answers: dict[Evaluation, list[dict]] = {}
        self.reviews: list[QualityReview] = []
        self.question_sets: dict[Stage, QuestionSet] = {}
        self.questions: dict[Stage, dict[str, Question]] = {}  # by stage, then key
        self._busy: set[tuple[str, date]] = set()
        self._emails: set[str] = set()

    # -- random helpers ----------------------------------------------------

    def _moment(self, start: datetime, end: datetime) -> datetime:
        return start + (end - start) * self.rng.random()

    def _moments(self, count: int, start: datetime, end: datetime) -> list[datetime]:
        """`count` sorted moments: bookings are inserted in time order, so ids follow arrival."""
        return sorted(self._moment(start, end) for _ in range(count))

    def pick(self, count: int, exclude: Iterable[User] = ()) -> list[User]:
        excluded = set(exclude)
        return self.rng.sample([p for p in self.pool if p not in excluded], count)

    def _unique_email(self, name: str, domain: str) -> str:
        local = "".join(ch for ch in name.lower().replace(" ", ".") if ch.isalnum() or ch == ".")
        email, n = f"{local}@{domain}", 1
        while email in self._emails:
            n += 1
            email = f"{local}{n}@{domain}"
        self._emails.add(email)
        return email

    def _random_name(self) -> str:
        return f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(LAST_NAMES)}"

    # -- agencies and people ---------------------------------------------

    def add_agencies(self) -> None:
        created = self.now - timedelta(days=900)
        for spec in AGENCIES:
            self.agencies[spec.key] = Agency(name=spec.name, sector=spec.sector, created_at=created)
            self.domains[spec.key] = spec.domain

    def _person(self, name: str, email: str, agency_key: str, job_title: str, roles: Sequence[Role],
                password_hash: str | None) -> User:
        created = self.now - timedelta(days=self.rng.uniform(430, 880))
        consent = self.rng.random() < 0.6
        manager = self._random_name()
        user = User(
            email=email, name=name, agency=self.agencies[agency_key], job_title=job_title,
            manager_name=manager, manager_email=self._unique_email(manager, self.domains[agency_key]),
            consent_updates=consent, consent_updated_at=created if consent else None, created_at=created,
        )
        if password_hash is None:
            user.set_password(DEMO_PASSWORD, self.hash_method)
        else:
            user.password_hash = password_hash
        for role in roles:
            user.grant(role)
        for grant in user.grants:
            grant.granted_at = created
        return user

    def add_people(self) -> None:
        # Hashing is deliberately slow: hash once and give every demo account the same hash.
        password_hash: str | None = None
        for spec in PEOPLE:
            self._emails.add(spec.email)
            user = self._person(spec.name, spec.email, spec.agency, spec.job_title, spec.roles, password_hash)
            password_hash = user.password_hash
            self.named[spec.key] = user
        keys = [a.key for a in AGENCIES]
        # Two people in every agency, the rest spread by the agency's size.
        homes = keys * 2 + self.rng.choices(keys, weights=[a.weight for a in AGENCIES],
                                            k=GENERATED_PEOPLE - 2 * len(keys))
        jobs = {a.key: a.jobs for a in AGENCIES}
        for key in homes:
            name = self._random_name()
            email = self._unique_email(name, self.domains[key])
            self.pool.append(self._person(name, email, key, self.rng.choice(jobs[key]), (Role.PROFESSIONAL,),
                                          password_hash))

    # -- courses and sessions ----------------------------------------------

    def add_courses(self) -> None:
        created = self.now - timedelta(days=800)
        for spec in COURSES:
            course = Course(
                title=spec.title, summary=spec.summary, learning_outcomes="\n".join(spec.outcomes),
                level=spec.level, duration_minutes=spec.minutes, format=spec.format,
                refresher_months=spec.refresher_months, created_at=created,
            )
            course.themes = spec.themes
            # A two-day course away from the job: agencies ask for the line manager's approval.
            course.requires_approval = spec.key in APPROVAL_COURSES
            self.courses[spec.key] = course

    def _free_day(self, day: date, trainer_keys: Sequence[str], step: int, any_season: bool) -> date:
        """The nearest working day from `day` (moving by `step`) on which the trainers are free."""
        while (not is_working_day(day) or (not any_season and _christmas_break(day))
               or any((k, day) in self._busy for k in trainer_keys)):
            day += timedelta(days=step)
        return day

    def _trainers_for(self, spec: _CourseSpec) -> list[str]:
        lead = spec.trainers[0] if self.rng.random() < 0.75 else self.rng.choice(spec.trainers)
        keys = [lead]
        if len(spec.trainers) > 1 and self.rng.random() < 0.3:
            keys.append(self.rng.choice([k for k in spec.trainers if k != lead]))
        return keys

    def add_session(self, spec: _CourseSpec, day: date, *, step: int, trainers: Sequence[str] | None = None,
                    capacity: int | None = None, any_season: bool = False) -> CourseSession:
        """A session of `spec` on the first suitable day from `day`, at London wall-clock times."""
        trainer_keys = list(trainers) if trainers else self._trainers_for(spec)
        day = self._free_day(day, trainer_keys, step, any_season)
        self._busy.update((k, day) for k in trainer_keys)
        if spec.minutes >= 300:
            start = FULL_DAY_START
        elif spec.minutes >= HALF_DAY:
            start = self.rng.choice(HALF_DAY_STARTS)
        else:
            start = self.rng.choice(SHORT_STARTS)
        end = (datetime.combine(day, start) + timedelta(minutes=spec.minutes)).time()
        starts_at = london_to_utc(day, start)
        if spec.format is CourseFormat.VIRTUAL:
            venue, link = None, f"https://meet.thameside-scp.example/j/{self.rng.randrange(10**9, 10**10)}"
            capacity = capacity or self.rng.choice((30, 35, 40))
        elif spec.format is CourseFormat.WORKSHOP:
            venue, link = WORKSHOP_VENUE, None
            capacity = capacity or self.rng.choice((40, 50, 60))
        else:
            venue, link = self.rng.choice(VENUES), None
            capacity = capacity or self.rng.choice((16, 18, 20, 24))
        session = CourseSession(
            course=self.courses[spec.key], starts_at=starts_at, ends_at=london_to_utc(day, end),
            venue=venue, online_link=link, capacity=capacity, places_taken=0,
            booking_closes_at=default_booking_close(starts_at),
            kind=default_session_kind(self.courses[spec.key]),
            created_at=min(starts_at - timedelta(days=self.rng.uniform(60, 100)),
                           self.now - timedelta(days=self.rng.uniform(30, 50))),
            trainers=[self.named[k] for k in trainer_keys],
        )
        self.sessions.append(session)
        self.session_course[session] = spec.key
        return session

    # -- bookings ------------------------------------------------------------

    def _book(self, session: CourseSession, user: User, at: datetime, *, waitlisted: bool = False) -> Booking:
        booking = Booking(
            session=session, user=user, created_by_id=user.id, queued_at=at, created_at=at,
            status_changed_at=at,
            status=BookingStatus.WAITLISTED if waitlisted else BookingStatus.CONFIRMED,
            confirmed_at=None if waitlisted else at,
        )
        self.bookings.append(booking)
        return booking

    def _register(self, session: CourseSession, booked: list[Booking]) -> None:
        """Take and complete the register of a past session, with a few walk-ins."""
        trainer = session.trainers[0]
        completed = min(session.ends_at + timedelta(minutes=self.rng.randint(10, 60 * 30)), self.now)
        attended = AttendanceOutcome.ATTENDED
        for booking in booked:
            fixed = booking.user in self.named.values()
            outcome = attended if fixed else self.rng.choices(OUTCOMES, OUTCOME_WEIGHTS)[0]
            self._attendance(session, booking.user, outcome, trainer, completed, booking=booking)
        if self.rng.random() < 0.3:
            present = {b.user for b in booked}
            for _ in range(self.rng.randint(1, 2)):
                if self.rng.random() < 0.65:
                    person = self.pick(1, present | set(session.trainers))[0]
                    present.add(person)
                    self._attendance(session, person, attended, trainer, completed, walk_in=True)
                else:  # someone without an account, recorded from the paper sign-in sheet
                    key = self.rng.choice(AGENCIES).key
                    name = self._random_name()
                    self.attendances.append(Attendance(
                        session=session, attendee_name=name,
                        attendee_email=self._unique_email(name, self.domains[key]),
                        agency=self.agencies[key], outcome=attended, walk_in=True,
                        recorded_by_id=trainer.id, recorded_at=completed,
                    ))
        self.registers.append(Register(session_id=session.id, completed_at=completed, completed_by_id=trainer.id))

    def _attendance(self, session: CourseSession, user: User, outcome: AttendanceOutcome, trainer: User,
                    at: datetime, *, booking: Booking | None = None, walk_in: bool = False) -> None:
        self.attendances.append(Attendance(
            session=session, booking=booking, user=user, attendee_name=user.name, attendee_email=user.email,
            agency=user.agency, outcome=outcome, walk_in=walk_in, recorded_by_id=trainer.id, recorded_at=at,
        ))

    def fill_past(self, session: CourseSession, fixed: Sequence[User] = ()) -> None:
        """Bookings made before the session, some cancelled (a few late), then the register."""
        wanted = max(len(fixed), round(session.capacity * self.rng.uniform(0.6, 1.0)))
        people = list(fixed) + self.pick(wanted - len(fixed), set(session.trainers) | set(fixed))
        self.rng.shuffle(people)
        times = self._moments(len(people), session.created_at, session.starts_at - timedelta(days=3))
        deadline = session.starts_at - timedelta(days=5)
        confirmed = []
        for person, at in zip(people, times, strict=True):
            booking = self._book(session, person, at)
            roll = 1.0 if person in fixed else self.rng.random()
            if roll < 0.06:
                booking.cancel(self._moment(at, max(at, deadline)), late=False)
            elif roll < 0.08:
                booking.cancel(session.starts_at - timedelta(hours=self.rng.uniform(2, 40)), late=True)
            else:
                confirmed.append(booking)
        self._register(session, confirmed)

    def fill_started(self, session: CourseSession) -> None:
        """A session under way or just finished: booked, one late cancellation, register to take."""
        people = self.pick(session.capacity - 2, session.trainers)
        times = self._moments(len(people), session.created_at, session.starts_at - timedelta(days=3))
        made = [self._book(session, person, at) for person, at in zip(people, times, strict=True)]
        made[-1].cancel(session.starts_at - timedelta(hours=20), late=True)

    def fill_upcoming(self, session: CourseSession, held: int, *, fixed: Sequence[User] = (),
                      waiting: Sequence[User] = (), until: datetime | None = None) -> list[Booking]:
        """`held` confirmed places (including `fixed` people), a few early cancellations when
        there is no queue, then `waiting` people on the waiting list in that order."""
        cancellers = 0 if waiting else self.rng.randint(0, 2)
        others = self.pick(held - len(fixed) + cancellers, set(session.trainers) | set(fixed) | set(waiting))
        entries = list(fixed) + others
        self.rng.shuffle(entries)
        last = until or self.now - timedelta(hours=1)
        times = self._moments(len(entries) + len(waiting), session.created_at, last)
        booked, queued = times[:len(entries)], times[len(entries):]
        made = [self._book(session, p, at) for p, at in zip(entries, booked, strict=True)]
        leavers = set(others[:cancellers])
        for booking in made:
            if booking.user in leavers:
                booking.cancel(self._moment(booking.created_at, last), late=False)
        made += [self._book(session, p, at, waitlisted=True) for p, at in zip(waiting, queued, strict=True)]
        return made

    def fill_with_offer(self, session: CourseSession, offered_to: User, waiting_behind: int) -> Booking:
        """Full, then someone cancelled and the first person waiting was offered the place."""
        offered_at = self.now - timedelta(hours=5)
        people = self.pick(session.capacity + waiting_behind, session.trainers)
        confirmed, behind = people[:session.capacity], people[session.capacity:]
        queue_opens = offered_at - timedelta(days=4)
        made = [self._book(session, p, at)
                for p, at in zip(confirmed, self._moments(len(confirmed), session.created_at, queue_opens),
                                 strict=True)]
        queue_times = self._moments(1 + waiting_behind, queue_opens, offered_at - timedelta(hours=1))
        offer = self._book(session, offered_to, queue_times[0], waitlisted=True)
        for person, at in zip(behind, queue_times[1:], strict=True):
            self._book(session, person, at, waitlisted=True)
        self.rng.choice(made).cancel(offered_at, late=False)
        offer.offer(offered_at, min(offered_at + timedelta(hours=self.offer_hours), session.starts_at))
        return offer

    def cancel_session(self, session: CourseSession, fixed: Sequence[User]) -> None:
        """A cancelled session: its bookings were released when it was cancelled."""
        cancelled_at = self.now - timedelta(days=2)
        made = self.fill_upcoming(session, round(session.capacity * 0.4), fixed=fixed,
                                  until=cancelled_at - timedelta(hours=1))
        session.cancel(cancelled_at, CANCELLATION_REASON)
        for booking in made:
            if booking.is_active:
                booking.mark_session_cancelled(cancelled_at)

    # -- evaluations -------------------------------------------------------

    def add_question_sets(self) -> None:
        """Version 1 of each stage's questions, as the forms create them on first use."""
        for stage in Stage:
            self.question_sets[stage] = current_question_set(stage)
        self.questions = {stage: {q.key: q for q in qs.questions} for stage, qs in self.question_sets.items()}

    def _answer(self, stage: Stage, key: str, **values) -> dict:
        return self._row(self.questions[stage][key], **values)

    @staticmethod
    def _row(question: Question, *, outcome_index: int = 0, outcome_text: str | None = None,
             rating: int | None = None, choice: str | None = None, text: str | None = None) -> dict:
        """An answer as a row for one bulk insert (its evaluation_id is added once that has an id):
        thousands of answers as ORM objects would make the load several times slower."""
        return {"question_id": question.id, "key": question.key, "outcome_index": outcome_index,
                "outcome_text": outcome_text, "rating": rating, "choice": choice, "text": text, "quotable": False}

    def _form(self, booking: Booking, stage: Stage, at: datetime, answers: list[dict], *, submitted: bool,
              opened: datetime) -> Evaluation:
        """A form started a few minutes before `at` (never before it opened), saved or submitted at `at`."""
        evaluation = Evaluation(
            booking=booking, session=booking.session, stage=stage, question_set=self.question_sets[stage],
            status=EvaluationStatus.SUBMITTED if submitted else EvaluationStatus.DRAFT,
            created_at=max(opened, at - timedelta(minutes=self.rng.uniform(3, 25))), updated_at=at,
            submitted_at=at if submitted else None,
        )
        self.evaluations.append(evaluation)
        self.answers[evaluation] = answers
        return evaluation

    def _rating(self, values: Sequence[int], weights: Sequence[int]) -> int:
        return self.rng.choices(values, weights)[0]

    def _before(self, booking: Booking, knowledge: int, confidence: int, *, submitted: bool) -> None:
        session = booking.session
        at = self._moment(booking.created_at, session.starts_at - timedelta(hours=12))
        answers = [self._answer(Stage.BEFORE, "knowledge", rating=knowledge)]
        if submitted:
            answers += [self._answer(Stage.BEFORE, "confidence", rating=confidence),
                        self._answer(Stage.BEFORE, "learning_needs", text=self.rng.choice(LEARNING_NEEDS))]
        self._form(booking, Stage.BEFORE, at, answers, submitted=submitted, opened=booking.created_at)

    def _comment(self, overall: OverallRating, tone: str, used: set[str]) -> str | None:
        if overall in (_EX, _GOOD):
            bank = COMMENTS["neutral"] if self.rng.random() < 0.2 else COMMENTS["good"]
        elif tone in ("poor", "crowded"):
            bank = COMMENTS[tone]
        else:
            bank = COMMENTS["poor"] if overall == _POOR else COMMENTS["neutral"]
        fresh = [c for c in bank if c not in used]
        if not fresh:
            return None
        used.add(comment := self.rng.choice(fresh))
        return comment

    def _after(self, attendance: Attendance, at: datetime, overall: OverallRating, knowledge: int,
               confidence: int, tone: str, used: set[str], *, submitted: bool) -> None:
        booking, stage = attendance.booking, Stage.AFTER
        gains = (0, 0, 1, 1) if tone == "poor" else (0, 1, 1, 2)
        knowledge = min(5, max(3, knowledge + self.rng.choice(gains)))
        confidence = min(5, max(3, confidence + self.rng.choice(gains)))
        answers = [self._answer(stage, "knowledge", rating=knowledge),
                   self._answer(stage, "confidence", rating=confidence)]
        if submitted:
            met = OUTCOME_WEIGHTS_BY_OVERALL[overall]
            answers += [
                self._row(self.questions[stage]["outcomes"], outcome_index=index, outcome_text=text,
                          choice=self.rng.choices(_OUTCOME_CHOICES, met)[0].value)
                for index, text in enumerate(booking.session.course.outcomes, 1)
            ]
            quality = QUALITY_RATINGS[overall]
            venue = self._rating(*quality)
            if tone == "crowded":
                venue = min(venue, self.rng.choice((2, 3)))
            answers += [
                self._answer(stage, "trainer", rating=self._rating(*quality)),
                self._answer(stage, "materials", rating=self._rating(*quality)),
                self._answer(stage, "venue", rating=venue),
                self._answer(stage, "overall", choice=overall.value),
                self._answer(stage, "do_differently", text=self.rng.choice(DO_DIFFERENTLY)),
            ]
            chance = 0.3 if overall in (_EX, _GOOD) and tone == "usual" else 0.7
            comment = self._comment(overall, tone, used) if self.rng.random() < chance else None
            if comment:
                answers.append(self._answer(stage, "comments", text=comment))
        self._form(booking, stage, at, answers, submitted=submitted, opened=attendance.recorded_at)

    def _follow_up(self, attendance: Attendance, opens_at: datetime, *, submitted: bool) -> None:
        booking, stage = attendance.booking, Stage.FOLLOW_UP
        at = opens_at + (min(opens_at + timedelta(weeks=5), self.now) - opens_at) * self.rng.uniform(0.05, 0.95)
        answers = [self._answer(stage, "impact", rating=self._rating((2, 3, 4, 5), (8, 32, 43, 17)))]
        if submitted:
            answers += [
                self._answer(stage, "impact_example", text=self.rng.choice(IMPACT_EXAMPLES)),
                self._answer(stage, "shared_with_team", choice=YES if self.rng.random() < 0.75 else NO),
                self._answer(stage, "manager_agrees", choice=YES if self.rng.random() < 0.93 else NO),
                self._answer(stage, "manager_name", text=booking.user.manager_name),
            ]
        self._form(booking, stage, at, answers, submitted=submitted, opened=opens_at)

    def _after_moment(self, attendance: Attendance) -> datetime | None:
        """When someone filled in the after-course form: mostly the same day or that week."""
        roll = self.rng.random()
        hours = self.rng.uniform(0.2, 6) if roll < 0.5 else self.rng.uniform(6, 24 * 7) if roll < 0.9 \
            else self.rng.uniform(24 * 7, 24 * 21)
        at = min(attendance.recorded_at + timedelta(hours=hours), self.now - timedelta(minutes=10))
        return at if at > attendance.recorded_at else None

    def _overall_ratings(self, count: int, tone: str) -> list[OverallRating]:
        """`count` overall ratings. Only a poorly rated session goes over the review threshold:
        any other keeps its Satisfactory and Poor ratings to the threshold, and they come
        last, so the share never went over it while the forms came in either."""
        values, weights = OVERALL_WEIGHTS[tone]
        ratings = self.rng.choices(values, weights, k=count)
        low = [i for i, r in enumerate(ratings) if r in LOW_RATINGS]
        if tone == "poor":
            high = [i for i, r in enumerate(ratings) if r not in LOW_RATINGS]
            while high and not breaches_threshold(Share(count - len(high), count)):
                ratings[high.pop()] = _SAT
            return ratings
        threshold = current_app.config["REVIEW_THRESHOLD_PERCENT"]
        while low and len(low) * 100 > threshold * count:
            ratings[low.pop()] = _GOOD
        return sorted(ratings, key=lambda r: r in LOW_RATINGS)

    def add_evaluations(self, past: Sequence[CourseSession], me: User, outstanding: CourseSession,
                        poor: CourseSession, crowded: CourseSession) -> None:
        """Before, after and follow-up forms for the past sessions' booked attendees.

        Before forms were filled in before the session; after forms once the register was
        taken; follow-ups shown for sessions that ended FOLLOW_UP_SHOWN_AFTER ago. Some people
        never respond and a few leave drafts. The demo professional has answered everything
        except the after-course form of `outstanding`.
        """
        follow_up_weeks = timedelta(weeks=current_app.config["FOLLOW_UP_WEEKS"])
        minimum = current_app.config["REVIEW_MIN_RESPONSES"]
        booked: dict[CourseSession, list[Attendance]] = {}
        for attendance in self.attendances:
            if attendance.booking is not None:
                booked.setdefault(attendance.session, []).append(attendance)
        for session in sorted(past, key=lambda s: s.starts_at):
            tone = "poor" if session is poor else "crowded" if session is crowded else "usual"
            present = [a for a in booked.get(session, []) if a.was_present]
            responding: list[tuple[datetime, Attendance]] = []
            baseline: dict[Attendance, tuple[int, int]] = {}
            for attendance in booked.get(session, []):
                booking, mine = attendance.booking, attendance.user is me
                knowledge = self._rating((1, 2, 3, 4), (8, 42, 40, 10))
                confidence = self._rating((1, 2, 3, 4), (10, 42, 38, 10))
                baseline[attendance] = knowledge, confidence  # where the after form's answers start from
                roll = 0.0 if mine else self.rng.random()
                if roll < BEFORE_SUBMITTED + BEFORE_DRAFT:
                    self._before(booking, knowledge, confidence, submitted=roll < BEFORE_SUBMITTED)
                if attendance not in present or (mine and session is outstanding):
                    continue
                roll = 0.0 if mine else self.rng.random()
                if tone == "poor" and roll >= AFTER_SUBMITTED and len(responding) < minimum:
                    roll = 0.0  # enough ratings for the threshold to apply
                at = self._after_moment(attendance)
                if at is None or roll >= AFTER_SUBMITTED + AFTER_DRAFT:
                    continue
                if roll < AFTER_SUBMITTED:
                    responding.append((at, attendance))
                else:
                    self._after(attendance, at, _GOOD, knowledge, confidence, tone, set(), submitted=False)
            responding.sort(key=lambda pair: pair[0])
            ratings = self._overall_ratings(len(responding), tone)
            used: set[str] = set()
            follow_ups_from = session.ends_at + follow_up_weeks
            show_follow_ups = session.ends_at + FOLLOW_UP_SHOWN_AFTER <= self.now
            for (at, attendance), overall in zip(responding, ratings, strict=True):
                self._after(attendance, at, overall, *baseline[attendance], tone, used, submitted=True)
                roll = 0.0 if attendance.user is me else self.rng.random()
                if show_follow_ups and roll < FOLLOW_UP_SUBMITTED + FOLLOW_UP_DRAFT:
                    self._follow_up(attendance, follow_ups_from, submitted=roll < FOLLOW_UP_SUBMITTED)

    def mark_quotable(self) -> None:
        """A coordinator has picked a few warm comments to quote in the annual report."""
        candidates = [
            answer for evaluation in self.evaluations if evaluation.status == EvaluationStatus.SUBMITTED
            for answer in self.answers[evaluation]
            if answer["key"] == "comments" and answer["text"] in COMMENTS["good"]
        ]
        chosen: dict[str, dict] = {}
        for answer in self.rng.sample(candidates, len(candidates)):
            chosen.setdefault(answer["text"], answer)
            if len(chosen) == QUOTABLE_COMMENTS:
                break
        for answer in chosen.values():
            answer["quotable"] = True

    def _after_forms(self, sessions: Iterable[CourseSession]) -> list[tuple[datetime, OverallRating]]:
        wanted = set(sessions)
        return sorted(
            (evaluation.submitted_at, OverallRating(answer["choice"]))
            for evaluation in self.evaluations
            if evaluation.session in wanted and evaluation.stage == Stage.AFTER
            and evaluation.status == EvaluationStatus.SUBMITTED
            for answer in self.answers[evaluation] if answer["key"] == "overall"
        )

    @staticmethod
    def _first_breach(forms: list[tuple[datetime, OverallRating]]) -> tuple[datetime, Share] | None:
        """When the threshold check that runs on each submitted form would first have flagged."""
        low = 0
        for n, (at, overall) in enumerate(forms, 1):
            low += overall in LOW_RATINGS
            if breaches_threshold(Share(low, n)):
                return at, Share(low, n)
        return None

    def add_reviews(self, poor: CourseSession, crowded: CourseSession) -> None:
        """The automatic reviews the poorly rated session raised (still open), and an earlier
        review of another course raised by hand, worked through and closed."""
        threshold = current_app.config["REVIEW_THRESHOLD_PERCENT"]
        course = self.courses[POOR_COURSE]
        year = financial_year(to_london(poor.starts_at).date())
        this_year = [s for s in self.sessions if s.course is course and year.start <= s.starts_at < year.end]
        for session, what, forms in (
            (poor, "this session", self._after_forms([poor])),
            (None, f"this course's sessions from {year.first.year} to {year.last.year}",
             self._after_forms(this_year)),
        ):
            breach = self._first_breach(forms)
            if breach is None:
                continue
            at, share = breach
            self.reviews.append(QualityReview(
                course=course, session=session, status=ReviewStatus.OPEN, automatic=True, created_at=at,
                reason=f"Flagged automatically: {share.label} overall ratings for {what} were Satisfactory "
                       f"or Poor, above the {threshold}% threshold",
            ))
        raised, agreed, responded, closed = (self._office_hours(crowded.ends_at, days) for days in (16, 37, 42, 56))
        self.reviews.append(QualityReview(
            course=crowded.course, session=crowded, status=ReviewStatus.CLOSED, automatic=False,
            reason=CLOSED_REVIEW["reason"], raised_by=self.named["coordinator"], created_at=raised,
            findings=CLOSED_REVIEW["findings"], improvements=CLOSED_REVIEW["improvements"],
            actions_agreed_at=agreed, trainer_response=CLOSED_REVIEW["trainer_response"],
            trainer_responded_at=responded, trainer_responded_by_id=crowded.trainers[0].id, closed_at=closed,
        ))

    def _office_hours(self, start: datetime, days: int) -> datetime:
        """A time in the working day `days` after `start` (or the next working day)."""
        day = to_london(start).date() + timedelta(days=days)
        while not is_working_day(day):
            day += timedelta(days=1)
        return london_to_utc(day, time(self.rng.randint(9, 16), self.rng.randrange(0, 60, 5)))

    def count_places(self) -> None:
        """places_taken is the booking services' counter: confirmed plus offered bookings."""
        held = Counter(b.session for b in self.bookings if b.holds_place)
        for session in self.sessions:
            session.places_taken = held[session]

    def add_awaiting_approval(self, session: CourseSession) -> None:
        """A request on a course that needs approval, made yesterday, still with the manager."""
        booked = {b.user for b in self.bookings if b.session is session}
        person = self.pick(1, booked | set(session.trainers))[0]
        at = self.now - timedelta(days=1)
        booking = Booking(
            session=session, user=person, created_by_id=person.id, queued_at=at, created_at=at,
            status_changed_at=at, status=BookingStatus.AWAITING_APPROVAL,
            approval_holds_place=True,  # the session has places left: fill_upcoming leaves some free
            approval_hold_until=min(at + timedelta(hours=current_app.config["APPROVAL_HOLD_HOURS"]), session.starts_at),
            approval_expires_at=min(at + timedelta(days=current_app.config["APPROVAL_LINK_DAYS"]), session.starts_at),
        )
        self.bookings.append(booking)

    def add_consent_and_bulletins(self) -> None:
        """Consent history for people who agreed to updates, one bulletin sent and one draft."""
        people = [*self.named.values(), *self.pool]
        db.session.add_all([
            ConsentRecord(user_id=p.id, consented=True, source=ConsentSource.REGISTRATION,
                          recorded_at=p.consent_updated_at or p.created_at)
            for p in people if p.consent_updates
        ])
        coordinator = self.named["coordinator"]
        sent_at = self.now - timedelta(days=120)
        db.session.add_all([
            Bulletin(subject="Safeguarding update: new multi-agency threshold guidance",
                     body=("The partnership has published updated threshold guidance.\n\n"
                           "It explains when to make a referral to children's social care and when to offer "
                           "early help. Please read it with your team."),
                     created_by_id=coordinator.id, created_at=sent_at - timedelta(days=1), sent_at=sent_at,
                     recipient_count=sum(1 for p in people if p.consent_updates and p.created_at < sent_at)),
            Bulletin(subject="Spring training dates for schools", sector=Sector.EDUCATION,
                     body="New dates for designated safeguarding lead training are now open for booking.",
                     created_by_id=coordinator.id, created_at=self.now - timedelta(days=2)),
        ])

    def build(self) -> DemoSummary:
        """Create the whole partnership in the current transaction."""
        self.add_question_sets()  # first, while nothing is waiting to be flushed
        self.add_agencies()
        self.add_people()
        self.add_courses()
        now, today = self.now, self.today
        me, colleague = self.named["professional"], self.named["colleague"]

        # Reserved first, so the demo trainer is free that day: the register still to take.
        started = self.add_session(_course("working-together"), _recent_start_day(now, today), step=-1,
                                   trainers=["trainer"], capacity=20, any_season=True)
        # A year of past sessions: each course runs through the year at its usual rate.
        past: list[CourseSession] = []
        for spec in COURSES:
            for i in range(spec.runs_a_year):
                days_back = 2 + (i + self.rng.uniform(0.1, 0.9)) * 360 / spec.runs_a_year
                past.append(self.add_session(spec, today - timedelta(days=int(days_back)), step=-1))
        # A term ahead: each course once. These five show the states the demo accounts need; the
        # first is close enough that cancelling it would be a late cancellation.
        soon = self.add_session(_course("neglect"), today + timedelta(days=2), step=1, trainers=["trainer"],
                                any_season=True)
        online = self.add_session(_course("online-safety"), today + timedelta(days=30), step=1)
        full = self.add_session(_course("exploitation"), today + timedelta(days=21), step=1, capacity=20)
        offered = self.add_session(_course("mental-health"), today + timedelta(days=10), step=1, capacity=16)
        cancelled = self.add_session(_course("identity"), today + timedelta(days=28), step=1,
                                     trainers=["trainer"])
        scheduled = {self.session_course[s] for s in (soon, online, full, offered, cancelled)}
        ordinary = [
            self.add_session(spec, today + timedelta(days=self.rng.randint(3, TERM_DAYS)), step=1)
            for spec in COURSES if spec.key not in scheduled
        ]
        db.session.add_all([*self.agencies.values(), *self.named.values(), *self.pool,
                            *self.courses.values(), *self.sessions])
        db.session.flush()  # ids for the bookings' created_by and the registers

        # The demo professional's record: courses attended over the past year, about this long ago.
        mine: dict[CourseSession, list[User]] = {}
        for key, days_back in (("working-together", 300), ("dsl-new", 210), ("domestic-abuse", 90),
                               ("wrap", 35)):
            nearest = min((s for s in past if self.session_course[s] == key),
                          key=lambda s: abs((now - s.starts_at).days - days_back))
            mine.setdefault(nearest, []).append(me)
            if key == "wrap":
                to_evaluate = nearest  # the demo professional's latest course: the after form is still to do
        recent_intro = next(s for s in past if self.session_course[s] == "intro" and s not in mine)
        mine.setdefault(recent_intro, []).append(colleague)
        for session in sorted(past, key=lambda s: s.starts_at):
            self.fill_past(session, mine.get(session, ()))
        self.fill_started(started)

        self.fill_upcoming(soon, soon.capacity - 3, fixed=[me])
        self.fill_upcoming(online, round(online.capacity * 0.5), fixed=[me])
        waiting = self.pick(4, full.trainers)
        self.fill_upcoming(full, full.capacity, fixed=[colleague], waiting=[waiting[0], me, *waiting[1:]])
        self.fill_with_offer(offered, me, waiting_behind=2)
        self.cancel_session(cancelled, fixed=[me])
        nearly_full = set(self.rng.sample(ordinary, 3))
        for session in ordinary:
            if session in nearly_full:
                held = session.capacity - self.rng.choice((1, 2))
            else:
                held = round(session.capacity * self.rng.uniform(0.15, 0.75))
            self.fill_upcoming(session, held)
        # Evaluations last, so the random draws above (and so the rest of the demo) stay as they were.
        poor = max((s for s in past if self.session_course[s] == POOR_COURSE), key=lambda s: s.starts_at)
        crowded = min((s for s in past if self.session_course[s] == REVIEWED_COURSE), key=lambda s: s.starts_at)
        self.add_evaluations(past, me, to_evaluate, poor, crowded)
        self.mark_quotable()
        self.add_reviews(poor, crowded)
        self.add_awaiting_approval(next(s for s in ordinary if self.session_course[s] in APPROVAL_COURSES))
        self.count_places()
        db.session.add_all([*self.bookings, *self.attendances, *self.registers, *self.evaluations,
                            *self.reviews])
        db.session.flush()
        answers = [
            {column: value for column, value in answer.items() if column != "key"} | {"evaluation_id": evaluation.id}
            for evaluation, rows in self.answers.items() for answer in rows
        ]
        if answers:
            db.session.execute(insert(Answer), answers)
        # The training needs analysis and the compliance returns build on everything above.
        add_needs_demo([*self.named.values(), *self.pool], now)
        add_demo_returns(now, list(self.agencies.values()), self.named["coordinator"], self.named["lead"],
                         self.named["scrutineer"])
        self.add_consent_and_bulletins()

        upcoming = sum(1 for s in self.sessions if s.starts_at > now)
        return DemoSummary(
            agencies=len(self.agencies), courses=len(self.courses), past_sessions=len(self.sessions) - upcoming,
            upcoming_sessions=upcoming, people=len(self.named) + len(self.pool), bookings=len(self.bookings),
            attendances=len(self.attendances), evaluations=len(self.evaluations), reviews=len(self.reviews),
        )


def _christmas_break(day: date) -> bool:
    """The partnership runs no training between Christmas and New Year."""
    return (day.month == 12 and day.day >= 22) or (day.month == 1 and day.day <= 2)


def _recent_start_day(now: datetime, today: date) -> date:
    """Today if a 9:30am session has been going for an hour, else the last working day."""
    if is_working_day(today) and now >= london_to_utc(today, time(10, 30)):
        return today
    day = today - timedelta(days=1)
    while not is_working_day(day):
        day -= timedelta(days=1)
    return day


def _course(key: str) -> _CourseSpec:
    return next(c for c in COURSES if c.key == key)


def database_has_data() -> bool:
    """True when any agency exists: the database is in use, so demo data must not go in."""
    return db.session.scalar(select(Agency.id).limit(1)) is not None


def load_demo_data(now: datetime | None = None, seed: int = SEED) -> DemoSummary:
    """Load the demo partnership into an empty database, in one write transaction."""
    config = current_app.config
    if config["ENV_NAME"] == "production":
        raise DemoDataRefused("Demo data has a published password, so it cannot be loaded in production")
    builder = _Builder(now or utcnow(), random.Random(seed), config["PASSWORD_HASH_METHOD"],
                       config["OFFER_HOURS"])
    with write_transaction():
        if database_has_data():
            raise DemoDataRefused(
                "The database already has agencies, so no demo data was loaded. Demo data only goes into "
                "an empty database: delete instance/training.sqlite, or set DATABASE_URL to an empty database"
            )
        summary = builder.build()
        # Certificates are issued as they fall due (the after-course form submitted, or `tick`);
        # the demo's history was written directly, so issue its due certificates here.
        issue_due(db.session.scalars(select(Booking.id)).all(), builder.now)
        return summary


@click.command("demo-data")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has agencies")
def demo_data_command(if_empty: bool) -> None:
    """Load demo agencies, courses, sessions, bookings and accounts into an empty database."""
    if if_empty and database_has_data():
        click.echo("Demo data not loaded: the database already has agencies")
        return
    try:
        summary = load_demo_data()
    except DemoDataRefused as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(summary.describe())
