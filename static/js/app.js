// GOV.UK Frontend behaviour (error summary focus, character counts, etc.).
import { initAll } from '/static/govuk/govuk-frontend.min.js'

initAll()
