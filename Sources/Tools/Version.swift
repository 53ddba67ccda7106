import ChatBridge
public enum ToolsVersion { public static let value = "0.1.0" }
