## UI strings of the resident-facing chat (English). Values are HTML-escaped by the bot before insertion.

welcome =
    👋 <b>alertbot</b> sends gas-safety warnings and seasonal safety reminders from the city's emergency officials to your district.

    Are you subscribing as a resident or for a business?
welcome-back = Welcome back! You are already subscribed.
kind-resident = 🏠 Resident
kind-business = 🏪 Business
choose-category = Which kind of business?
category-restaurant = Restaurant / catering
category-lpg_retailer = LPG retailer
category-hazardous_chemicals = Hazardous chemicals
category-mining = Mining
category-property_management = Property management
category-other = Other
ask-business-name = Please type the name of your business (up to { $max } characters).
business-name-invalid = The name must be 1 to { $max } characters long. Please type it again.
business-name-not-text = Please send the business name as a text message.
choose-districts = Choose one or more districts, then tap <b>Done</b>. Tap a district again to remove it.
picker-done = ✔️ Done
onboarding-done =
    ✅ You will receive warnings and reminders for: { $districts }.

    /mysubs shows your subscription, /help lists what you can do.
onboarding-no-district = Please choose at least one district.

subscribed = ✅ Subscribed to: { $districts }.
already-subscribed = You were already subscribed to: { $districts }.
unknown-district =
    ❓ I do not know the district { $unknown }. Nothing was changed.
    Districts: { $valid }
unsubscribed = Unsubscribed from: { $districts }.
unsubscribed-all = You are no longer subscribed to any district. /subscribe adds one again.
not-subscribed-to = You were not subscribed to: { $districts }.
no-subscriptions = You are not subscribed to any district yet. /subscribe adds one.
choose-unsubscribe = Tap a district to unsubscribe from it.
unsubscribe-all-button = ❌ Unsubscribe from all
picker-district-unknown = This district no longer exists.

mysubs =
    <b>Your subscription</b>
    Districts: { $districts }
    Subscribed as: { $kind }
    Language: { $language }

    /subscribe and /unsubscribe change the districts, /language the language, /forgetme deletes everything.
mysubs-none = (none)
mysubs-resident = resident
mysubs-business = business — { $category }: { $name }

language-choose = Choose your language:
language-set = The bot will now talk to you in English.
language-unknown = Unknown language { $code }. Use /language zh or /language en.
language-name-zh = 中文
language-name-en = English

forgetme-confirm = This deletes everything alertbot stores about this chat: your districts, your profile and your language. You will receive no more warnings. Continue?
forgetme-yes = 🗑 Yes, delete everything
forgetme-no = Cancel
forgetme-done = 🗑 Done. alertbot no longer stores anything about this chat. /start subscribes you again.
forgetme-cancelled = Nothing was deleted.

help =
    <b>alertbot</b> sends gas-safety warnings and reminders for the districts you choose.

    /start — subscribe (resident or business)
    /subscribe [district …] — add districts, e.g. <code>/subscribe heping 铁西区</code>
    /unsubscribe [district|all] — remove districts
    /mysubs — your districts, kind and language
    /language [zh|en] — switch language
    /quiet [23:00-07:00|off|default] — when reminders may not reach you (warnings always do)
    /forgetme — delete everything stored about you
    /help — this help

    In an emergency call 119; for a gas smell, leave the room first, then call your gas company.
help-official =
    <b>For officials</b> ({ $role }, districts: { $scope })
    /alert — compose a warning from a template; progress, report and follow-ups arrive here
    /campaigns — seasonal reminder campaigns: next run, counts, pause, preview, run now
    /stats — subscribers per district and confirmation rates
help-role-officer = duty officer
help-role-supervisor = supervisor
help-scope-all = all
unknown-command = I do not know that command. /help lists what I can do.
private-only = Please talk to me in a private chat to manage your subscription.
too-fast = Too many requests — please wait a moment.
something-wrong = Sorry, something went wrong. Please try again.

cmd-start = Subscribe to warnings for your district
cmd-subscribe = Add districts
cmd-unsubscribe = Remove districts
cmd-mysubs = Show your subscription
cmd-language = Switch language (zh/en)
cmd-forgetme = Delete all your data
cmd-help = Help
button-expired = This button is no longer valid. Please start again.
cmd-alert = Compose a warning (officials)
cmd-quiet = Quiet hours for reminders
cmd-campaigns = Reminder campaigns (officials)
cmd-stats = Subscribers and confirmations (officials)
