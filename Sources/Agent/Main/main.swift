import AgentCore

AgentMain.run(CommandLine.arguments)
