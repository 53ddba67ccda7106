import Hummingbird

struct HealthController {
    struct Status: ResponseEncodable {
        var status = "ok"
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("health") { _, _ in Status() }
    }
}
