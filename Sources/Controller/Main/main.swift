import AutomationKit

await AutomationMain.run()
